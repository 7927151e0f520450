/* Fused CPU kernels for lgn-hw training: the multilinear extension of n-input truth tables
 * (n = 1..6), forward and backward, in the feature-major layout used throughout train/.
 *
 *   x    [in_dim, B]  activations of the previous layer (row stride B)
 *   idx  [G, n]       int32 connections (row of x read by gate g, input k)
 *   coef [G, 2^n]     real coefficients c_p (rho(theta) or hard 0/1 table bits)
 *   y    [G, B]       y[g, b] = sum_p c_p prod_k (x_k if bit k of p else 1 - x_k)
 *
 * y is evaluated as a lerp tree folding input 0 first (2^n - 1 lerps); the backward pass is
 * reverse mode through the same tree. Work is split over batch columns, so every thread owns a
 * disjoint column range of x, y, dx and dy: the scatter into dx needs no atomics and results do
 * not depend on scheduling. Coefficient gradients are accumulated per thread (dcoef_part
 * [T, G, 2^n]) and summed by the caller in a fixed order.
 * Built and loaded by train/cext.py (ctypes); compiled once per machine and cached.
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BB 16 /* batch block: columns processed together (one or two SIMD vectors) */

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
        for (; b + BB <= b1; b += BB) {                                                           \
            fwd_block_##SUF(xr, c, n, BB, yr + b);                                                \
            for (int k = 0; k < n; k++) xr[k] += BB;                                              \
        }                                                                                         \
        if (b < b1) fwd_block_##SUF(xr, c, n, (int)(b1 - b), yr + b);                             \
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
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
/* one block of columns of one gate: recompute the tree, then walk it backwards */                \
static inline __attribute__((always_inline)) void bwd_block_##SUF(                                \
    const T *const *xr, const T *c, int n, int w, const T *dyr, T *const *dxr, T *dc) {           \
    T lev[64][BB];  /* all tree levels, level k at offset off[k] */                               \
    T adj[2][32][BB];                                                                             \
    int off[7];                                                                                   \
    int half = 1 << (n - 1);                                                                      \
    off[0] = 0;                                                                                   \
    for (int q = 0; q < half; q++) {                                                              \
        T c0 = c[2 * q], d = c[2 * q + 1] - c[2 * q];                                             \
        for (int j = 0; j < w; j++) lev[q][j] = c0 + xr[0][j] * d;                                \
    }                                                                                             \
    for (int k = 1; k < n; k++) {                                                                 \
        int o = off[k - 1];                                                                       \
        off[k] = o + half;                                                                        \
        half >>= 1;                                                                               \
        for (int q = 0; q < half; q++)                                                            \
            for (int j = 0; j < w; j++)                                                           \
                lev[off[k] + q][j] = lev[o + 2 * q][j] +                                          \
                                     xr[k][j] * (lev[o + 2 * q + 1][j] - lev[o + 2 * q][j]);      \
    }                                                                                             \
    /* adjoint of the top lerp (level n-1, one entry) is dy */                                    \
    int cur = 0;                                                                                  \
    for (int j = 0; j < w; j++) adj[cur][0][j] = dyr[j];                                          \
    half = 1;                                                                                     \
    for (int k = n - 1; k >= 1; k--) {                                                            \
        int o = off[k - 1];                                                                       \
        int nxt = cur ^ 1;                                                                        \
        for (int q = 0; q < half; q++) {                                                          \
            for (int j = 0; j < w; j++) {                                                         \
                T a = lev[o + 2 * q][j], bv = lev[o + 2 * q + 1][j], g = adj[cur][q][j];          \
                T xv = xr[k][j];                                                                  \
                dxr[k][j] += g * (bv - a);                                                        \
                adj[nxt][2 * q][j] = g - g * xv;                                                  \
                adj[nxt][2 * q + 1][j] = g * xv;                                                  \
            }                                                                                     \
        }                                                                                         \
        cur = nxt;                                                                                \
        half <<= 1;                                                                               \
    }                                                                                             \
    /* level 0: lerps between the coefficients themselves */                                      \
    for (int q = 0; q < half; q++) {                                                              \
        T d = c[2 * q + 1] - c[2 * q];                                                            \
        T s0 = 0, s1 = 0;                                                                         \
        for (int j = 0; j < w; j++) {                                                             \
            T g = adj[cur][q][j], xv = xr[0][j];                                                  \
            if (dxr[0]) dxr[0][j] += g * d;                                                       \
            s1 += g * xv;                                                                         \
            s0 += g;                                                                              \
        }                                                                                         \
        dc[2 * q] += s0 - s1;                                                                     \
        dc[2 * q + 1] += s1;                                                                      \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
static inline __attribute__((always_inline)) void bwd_gates_##SUF(                                \
    const T *x, int64_t B, const int32_t *idx, const T *coef, int64_t G, int n, const T *dy,      \
    T *dx, T *dc, int64_t b0, int64_t b1) {                                                       \
    const int P = 1 << n;                                                                         \
    for (int64_t g = 0; g < G; g++) {                                                             \
        const T *xr[6];                                                                           \
        T *dxr[6];                                                                                \
        const T *c = coef + g * P;                                                                \
        const T *dyr = dy + g * B + b0;                                                           \
        int64_t b = b0;                                                                           \
        for (int k = 0; k < n; k++) {                                                             \
            xr[k] = x + (int64_t)idx[g * n + k] * B + b;                                          \
            dxr[k] = dx ? dx + (int64_t)idx[g * n + k] * B + b : 0;                               \
        }                                                                                         \
        T dummy[6][BB];                                                                           \
        if (!dx) for (int k = 1; k < n; k++) dxr[k] = dummy[k];                                   \
        for (; b < b1; b += BB) {                                                                 \
            int w = b + BB <= b1 ? BB : (int)(b1 - b);                                            \
            if (w == BB) bwd_block_##SUF(xr, c, n, BB, dyr, dxr, dc + g * P);                     \
            else bwd_block_##SUF(xr, c, n, w, dyr, dxr, dc + g * P);                              \
            for (int k = 0; k < n; k++) {                                                         \
                xr[k] += BB;                                                                      \
                if (dx) dxr[k] += BB;                                                             \
            }                                                                                     \
            dyr += BB;                                                                            \
        }                                                                                         \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
/* dx [in_dim, B] is accumulated into (zero it first) and may be NULL (no input gradient);       \
 * dcoef_part [nthreads, G, 2^n] is overwritten: the caller sums it over its first axis. */       \
void lgn_backward_##SUF(const T *x, int64_t B, const int32_t *idx, const T *coef, int64_t G,      \
                        int n, const T *dy, T *dx, T *dcoef_part, int nthreads) {                 \
    const int64_t P = (int64_t)1 << n;                                                            \
    memset(dcoef_part, 0, sizeof(T) * (size_t)nthreads * (size_t)G * (size_t)P);                 \
    _Pragma("omp parallel num_threads(nthreads)")                                                 \
    {                                                                                             \
        int nt = 1, t = 0;                                                                        \
        IF_OMP(nt = omp_get_num_threads(); t = omp_get_thread_num();)                             \
        int64_t b0, b1;                                                                           \
        col_range(B, nt, t, &b0, &b1);                                                            \
        T *dc = dcoef_part + (int64_t)t * G * P;                                                  \
        if (b0 < b1) {                                                                            \
            switch (n) {                                                                          \
            case 1: bwd_gates_##SUF(x, B, idx, coef, G, 1, dy, dx, dc, b0, b1); break;            \
            case 2: bwd_gates_##SUF(x, B, idx, coef, G, 2, dy, dx, dc, b0, b1); break;            \
            case 3: bwd_gates_##SUF(x, B, idx, coef, G, 3, dy, dx, dc, b0, b1); break;            \
            case 4: bwd_gates_##SUF(x, B, idx, coef, G, 4, dy, dx, dc, b0, b1); break;            \
            case 5: bwd_gates_##SUF(x, B, idx, coef, G, 5, dy, dx, dc, b0, b1); break;            \
            default: bwd_gates_##SUF(x, B, idx, coef, G, 6, dy, dx, dc, b0, b1); break;           \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
}

#ifdef _OPENMP
#define IF_OMP(...) __VA_ARGS__
#else
#define IF_OMP(...)
#endif

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)

int lgn_abi_version(void) { return 1; }
