/* Fused CPU kernels for lgn-hw training: the multilinear extension of n-input truth tables
 * (n = 1..6), forward and backward, in the feature-major layout used throughout train/.
 *
 *   x    [in_dim, B]  activations of the previous layer (row stride B)
 *   idx  [G, n]       int32 connections (row of x read by gate g, input k)
 *   coef [G, 2^n]     real coefficients c_p (rho(theta) or hard 0/1 table bits)
 *   y    [G, B]       y[g, b] = sum_p c_p prod_k (x_k if bit k of p else 1 - x_k)
 *
 * y is evaluated as a lerp tree folding input 0 first (2^n - 1 lerps); the backward pass expands
 * the basis for the coefficient gradients and evaluates one (n-1)-input lerp tree per input for
 * the input gradients (see bwd_block). Work is split over batch columns, so every thread owns a
 * disjoint column range of x, y, dx and dy: the scatter into dx needs no atomics and results do
 * not depend on scheduling. Coefficient gradients are accumulated per thread (dcoef_part
 * [T, G, 2^n]) and then summed in thread order, so results are deterministic for a thread count.
 * Built and loaded by train/cext.py (ctypes); compiled once per machine and cached.
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BB 16 /* batch block: columns processed together (one or two SIMD vectors) */

/* Flush denormals to zero inside the kernels (per thread: MXCSR is thread-local). Trained gates
 * are nearly Boolean, so activations and gradients that are products of many small factors reach
 * the denormal range, where x86 arithmetic is ~100x slower (measured: a 6x8000 step took 16 ms
 * per layer backward instead of <1 ms). Values below 1e-38 carry no useful gradient. */
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FTZ_BEGIN unsigned int ftz_saved_csr = _mm_getcsr(); _mm_setcsr(ftz_saved_csr | 0x8040u);
#define FTZ_END _mm_setcsr(ftz_saved_csr);
#else
#define FTZ_BEGIN
#define FTZ_END
#endif

static inline void col_range(int64_t B, int nt, int t, int64_t *b0, int64_t *b1) {
    /* split [0, B) into nt contiguous ranges whose boundaries are multiples of BB */
    int64_t nblk = (B + BB - 1) / BB;
    int64_t lo = nblk * t / nt, hi = nblk * (t + 1) / nt;
    *b0 = lo * BB;
    *b1 = hi * BB < B ? hi * BB : B;
}

#define DEFINE_KERNELS(T, SUF)                                                                    \
static inline __attribute__((always_inline)) void fwd_block_##SUF(                                \
    const T *const *xr, const T *c, int n, int w, T *out) {                                       \
    T buf[32][BB];                                                                                \
    int half = 1 << (n - 1);                                                                      \
    for (int q = 0; q < half; q++) {                                                              \
        T c0 = c[2 * q], d = c[2 * q + 1] - c[2 * q];                                             \
        for (int j = 0; j < w; j++) buf[q][j] = c0 + xr[0][j] * d;                                \
    }                                                                                             \
    for (int k = 1; k < n; k++) {                                                                 \
        half >>= 1;                                                                               \
        for (int q = 0; q < half; q++)                                                            \
            for (int j = 0; j < w; j++)                                                           \
                buf[q][j] = buf[2 * q][j] + xr[k][j] * (buf[2 * q + 1][j] - buf[2 * q][j]);       \
    }                                                                                             \
    for (int j = 0; j < w; j++) out[j] = buf[0][j];                                               \
}                                                                                                 \
                                                                                                  \
static inline __attribute__((always_inline)) void fwd_gates_##SUF(                                \
    const T *x, int64_t B, const int32_t *idx, const T *coef, int64_t G, int n, T *y,             \
    int64_t b0, int64_t b1) {                                                                     \
    const int P = 1 << n;                                                                         \
    for (int64_t g = 0; g < G; g++) {                                                             \
        const T *xr[6];                                                                           \
        const T *c = coef + g * P;                                                                \
        T *yr = y + g * B;                                                                        \
        int64_t b = b0;                                                                           \
        for (int k = 0; k < n; k++) xr[k] = x + (int64_t)idx[g * n + k] * B + b;                 \
        for (; b < b1; b += BB) { /* one call site: the tail block goes through padded copies */   \
            int w = b1 - b < BB ? (int)(b1 - b) : BB;                                             \
            const T *xp[6];                                                                       \
            T xt[6][BB], ot[BB];                                                                  \
            T *dst = yr + b;                                                                      \
            for (int k = 0; k < n; k++) xp[k] = xr[k];                                            \
            if (w < BB) {                                                                         \
                for (int k = 0; k < n; k++) {                                                     \
                    for (int j = 0; j < BB; j++) xt[k][j] = j < w ? xr[k][j] : 0;                 \
                    xp[k] = xt[k];                                                                \
                }                                                                                 \
                dst = ot;                                                                         \
            }                                                                                     \
            fwd_block_##SUF(xp, c, n, BB, dst);                                                   \
            if (w < BB)                                                                           \
                for (int j = 0; j < w; j++) yr[b + j] = ot[j];                                    \
            for (int k = 0; k < n; k++) xr[k] += BB;                                              \
        }                                                                                         \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
void lgn_forward_##SUF(const T *x, int64_t B, const int32_t *idx, const T *coef, int64_t G,       \
                       int n, T *y, int nthreads) {                                               \
    _Pragma("omp parallel num_threads(nthreads)")                                                 \
    {                                                                                             \
        int nt = 1, t = 0;                                                                        \
        IF_OMP(nt = omp_get_num_threads(); t = omp_get_thread_num();)                             \
        int64_t b0, b1;                                                                           \
        FTZ_BEGIN                                                                                 \
        col_range(B, nt, t, &b0, &b1);                                                            \
        if (b0 < b1) {                                                                            \
            switch (n) {                                                                          \
            case 1: fwd_gates_##SUF(x, B, idx, coef, G, 1, y, b0, b1); break;                     \
            case 2: fwd_gates_##SUF(x, B, idx, coef, G, 2, y, b0, b1); break;                     \
            case 3: fwd_gates_##SUF(x, B, idx, coef, G, 3, y, b0, b1); break;                     \
            case 4: fwd_gates_##SUF(x, B, idx, coef, G, 4, y, b0, b1); break;                     \
            case 5: fwd_gates_##SUF(x, B, idx, coef, G, 5, y, b0, b1); break;                     \
            default: fwd_gates_##SUF(x, B, idx, coef, G, 6, y, b0, b1); break;                    \
            }                                                                                     \
        }                                                                                         \
        FTZ_END                                                                                   \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
/* one block of columns of one gate, with dy. Coefficient gradients: dy * basis_p(x), built by    \
 * expanding the basis one input at a time (w[p + 2^k] = w[p] x_k, w[p] -= that), accumulated   \
 * per column in acc[p][j]. Input gradients: dy/dx_k is the multilinear extension, over the      \
 * other inputs, of the differences D_k[q] = c[q with bit k set] - c[q with bit k clear]         \
 * (precomputed per gate), evaluated with the same lerp tree as the forward pass. Every loop     \
 * runs over BB columns with zero padding, so all of them vectorise. */                          \
static inline __attribute__((always_inline)) void bwd_block_##SUF(                                \
    const T *const *xr, const T *dk, int n, int w, const T *dyr, T *const *dxr, int need_dx,      \
    T acc[64][BB]) {                                                                              \
    T xt[6][BB], dyt[BB], wb[64][BB];                                                             \
    const T *xv[6], *dyv = dyr;                                                                   \
    for (int k = 0; k < n; k++) xv[k] = xr[k];                                                    \
    if (w < BB) { /* tail block: zero-padded copies (full blocks read in place: element-wise   \
                     copies there cost more than the arithmetic) */                               \
        for (int k = 0; k < n; k++) {                                                             \
            for (int j = 0; j < BB; j++) xt[k][j] = j < w ? xr[k][j] : 0;                         \
            xv[k] = xt[k];                                                                        \
        }                                                                                         \
        for (int j = 0; j < BB; j++) dyt[j] = j < w ? dyr[j] : 0;                                 \
        dyv = dyt;                                                                                \
    }                                                                                             \
    for (int j = 0; j < BB; j++) wb[0][j] = dyv[j];                                               \
    for (int k = 0; k < n; k++) {                                                                 \
        int h = 1 << k;                                                                           \
        for (int p = 0; p < h; p++)                                                               \
            _Pragma("GCC ivdep")                                                                  \
            for (int j = 0; j < BB; j++) {                                                        \
                T t = wb[p][j] * xv[k][j];                                                        \
                wb[p + h][j] = t;                                                                 \
                wb[p][j] -= t;                                                                    \
            }                                                                                     \
    }                                                                                             \
    for (int p = 0; p < (1 << n); p++)                                                            \
        for (int j = 0; j < BB; j++) acc[p][j] += wb[p][j];                                       \
    if (!need_dx) return;                                                                         \
    const int H = 1 << (n - 1);                                                                   \
    for (int k = 0; k < n; k++) {                                                                 \
        const T *d = dk + k * H;                                                                  \
        T r[BB];                                                                                  \
        if (n == 1) {                                                                             \
            for (int j = 0; j < BB; j++) r[j] = d[0];                                             \
        } else {                                                                                  \
            const T *xo[6];                                                                       \
            for (int i = 0, m = 0; i < n; i++)                                                    \
                if (i != k) xo[m++] = xv[i];                                                      \
            fwd_block_##SUF(xo, d, n - 1, BB, r);                                                 \
        }                                                                                         \
        for (int j = 0; j < w; j++) dxr[k][j] += dyv[j] * r[j];                                   \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
static inline __attribute__((always_inline)) void bwd_gates_##SUF(                                \
    const T *x, int64_t B, const int32_t *idx, const T *coef, int64_t G, int n, const T *dy,      \
    T *dx, int need_dx, T *dc, int64_t b0, int64_t b1) {                                          \
    const int P = 1 << n, H = 1 << (n - 1);                                                       \
    T acc[64][BB];                                                                                \
    T dk[6 * 32];                                                                                 \
    for (int64_t g = 0; g < G; g++) {                                                             \
        const T *xr[6];                                                                           \
        T *dxr[6];                                                                                \
        const T *c = coef + g * P;                                                                \
        const T *dyr = dy + g * B + b0;                                                           \
        int64_t b = b0;                                                                           \
        for (int k = 0; k < n; k++) {                                                             \
            xr[k] = x + (int64_t)idx[g * n + k] * B + b;                                          \
            dxr[k] = need_dx ? dx + (int64_t)idx[g * n + k] * B + b : 0;                          \
            /* D_k[q]: q enumerates the other inputs' bits in order, bit k inserted */            \
            for (int q = 0; q < H; q++) {                                                         \
                int lo = q & ((1 << k) - 1), hi = (q >> k) << (k + 1);                            \
                int p0 = hi | lo, p1 = p0 | (1 << k);                                             \
                dk[k * H + q] = c[p1] - c[p0];                                                    \
            }                                                                                     \
        }                                                                                         \
        for (int p = 0; p < P; p++)                                                               \
            for (int j = 0; j < BB; j++) acc[p][j] = 0;                                           \
        for (; b < b1; b += BB) {                                                                 \
            int w = b1 - b < BB ? (int)(b1 - b) : BB;                                             \
            bwd_block_##SUF(xr, dk, n, w, dyr, dxr, need_dx, acc);                                \
            for (int k = 0; k < n; k++) {                                                         \
                xr[k] += BB;                                                                      \
                if (need_dx) dxr[k] += BB;                                                        \
            }                                                                                     \
            dyr += BB;                                                                            \
        }                                                                                         \
        /* pairwise sum over the columns (a fixed order; vectorises across p) */                  \
        for (int h = BB / 2; h >= 1; h >>= 1)                                                     \
            for (int p = 0; p < P; p++)                                                           \
                for (int j = 0; j < h; j++) acc[p][j] += acc[p][j + h];                           \
        for (int p = 0; p < P; p++) dc[g * P + p] = acc[p][0];                                    \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
/* out[i] = sum over threads t < used of part[t * count + i], in thread order (deterministic). */ \
static inline void sum_threads_##SUF(const T *part, int used, int64_t count, T *out) {            \
    for (int64_t i = 0; i < count; i++) {                                                         \
        T s = part[i];                                                                            \
        for (int t = 1; t < used; t++) s += part[(int64_t)t * count + i];                        \
        out[i] = s;                                                                               \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
/* dx [in_dim, B] is overwritten (each thread zeroes its own columns first) and may be NULL (no \
 * input gradient); dcoef_part [nthreads, G, 2^n] is scratch; dcoef [G, 2^n] receives its sum    \
 * over threads, in thread order. */                                                              \
void lgn_backward_##SUF(const T *x, int64_t in_dim, int64_t B, const int32_t *idx, const T *coef, \
                        int64_t G, int n, const T *dy, T *dx, T *dcoef_part, T *dcoef,          \
                        int nthreads) {                                                           \
    const int64_t P = (int64_t)1 << n;                                                            \
    int used = 1;                                                                                 \
    _Pragma("omp parallel num_threads(nthreads)")                                                 \
    {                                                                                             \
        int nt = 1, t = 0;                                                                        \
        IF_OMP(nt = omp_get_num_threads(); t = omp_get_thread_num();)                             \
        if (t == 0) used = nt;                                                                    \
        int64_t b0, b1;                                                                           \
        FTZ_BEGIN                                                                                 \
        col_range(B, nt, t, &b0, &b1);                                                            \
        T *dc = dcoef_part + (int64_t)t * G * P;                                                  \
        if (b0 >= b1) {                                                                           \
            memset(dc, 0, sizeof(T) * (size_t)(G * P));                                           \
        } else {                                                                                  \
            if (dx)                                                                               \
                for (int64_t i = 0; i < in_dim; i++)                                              \
                    memset(dx + i * B + b0, 0, sizeof(T) * (size_t)(b1 - b0));                    \
            int nd = dx != 0;                                                                     \
            switch (n) {                                                                          \
            case 1: bwd_gates_##SUF(x, B, idx, coef, G, 1, dy, dx, nd, dc, b0, b1); break;        \
            case 2: bwd_gates_##SUF(x, B, idx, coef, G, 2, dy, dx, nd, dc, b0, b1); break;        \
            case 3: bwd_gates_##SUF(x, B, idx, coef, G, 3, dy, dx, nd, dc, b0, b1); break;        \
            case 4: bwd_gates_##SUF(x, B, idx, coef, G, 4, dy, dx, nd, dc, b0, b1); break;        \
            case 5: bwd_gates_##SUF(x, B, idx, coef, G, 5, dy, dx, nd, dc, b0, b1); break;        \
            default: bwd_gates_##SUF(x, B, idx, coef, G, 6, dy, dx, nd, dc, b0, b1); break;       \
            }                                                                                     \
        }                                                                                         \
        FTZ_END                                                                                   \
    }                                                                                             \
    sum_threads_##SUF(dcoef_part, used, G * P, dcoef);                                            \
}

#ifdef _OPENMP
#define IF_OMP(...) __VA_ARGS__
#else
#define IF_OMP(...)
#endif

#include "mixed.h" /* learned connections: candidate mixes fused into the same kernels */

/* one precision per build (train/cext.py compiles -DLGN_F64 separately, on first use) */
#ifdef LGN_F64
DEFINE_KERNELS(double, f64)
DEFINE_MIXED(double, f64)
#else
DEFINE_KERNELS(float, f32)
DEFINE_MIXED(float, f32)
#endif

int lgn_abi_version(void) { return 5; }
int lgn_max_candidates(void) { return LGN_MAX_CANDIDATES; }
