/* Learned connections in the fused CPU kernel (train/connections.py): input k of gate g is the
 * mix of C candidate rows, xin_k = sum_c w[g, k, c] x[cand[g, k, c]], and the gate is the
 * multilinear extension over the mixed inputs (fwd_block / bwd_block of multilinear.c).
 *
 *   cand [G, n, C] int32 candidate rows; w [G, n, C] mixing weights (softmax, or one-hot in the
 *   straight-through pass: the kernel takes whatever weights it is given, torch differentiates
 *   the softmax and the straight-through trick on the small [G, n, C] tensor).
 *
 * Backward, per block of BB columns: the mixed inputs are recomputed (C loads per input), the gate's
 * backward gives dL/dxin_k, then dL/dw[g, k, c] += dL/dxin_k . x[cand] and, if the input needs a
 * gradient, dx[cand] += w[g, k, c] dL/dxin_k. Threads own disjoint column ranges (as in
 * multilinear.c); per-thread weight and coefficient gradients are summed in thread order.
 * Included at the end of multilinear.c (one compilation unit, one library per precision).
 */
#define LGN_MAX_CANDIDATES 16

#define DEFINE_MIXED(T, SUF)                                                                      \
static inline __attribute__((always_inline)) void mix_block_##SUF(                                \
    const T *x, int64_t B, const int32_t *cand, const T *wm, int n, int C, int64_t b, int w,      \
    T xt[6][BB]) {                                                                                \
    for (int k = 0; k < n; k++) {                                                                 \
        for (int j = 0; j < BB; j++) xt[k][j] = 0;                                                \
        for (int c = 0; c < C; c++) {                                                             \
            const T wc = wm[k * C + c];                                                           \
            const T *xr = x + (int64_t)cand[k * C + c] * B + b;                                   \
            if (w == BB)                                                                          \
                for (int j = 0; j < BB; j++) xt[k][j] += wc * xr[j];                              \
            else                                                                                  \
                for (int j = 0; j < w; j++) xt[k][j] += wc * xr[j];                               \
        }                                                                                         \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
static inline __attribute__((always_inline)) void mix_fwd_gates_##SUF(                            \
    const T *x, int64_t B, const int32_t *cand, const T *wm, int C, const T *coef, int64_t G,     \
    int n, T *y, int64_t b0, int64_t b1) {                                                        \
    const int P = 1 << n;                                                                         \
    T xt[6][BB], ot[BB];                                                                          \
    for (int64_t g = 0; g < G; g++) {                                                             \
        const int32_t *cg = cand + g * n * C;                                                     \
        const T *wg = wm + g * n * C;                                                             \
        const T *xp[6];                                                                           \
        for (int k = 0; k < n; k++) xp[k] = xt[k];                                                \
        for (int64_t b = b0; b < b1; b += BB) {                                                   \
            int w = b1 - b < BB ? (int)(b1 - b) : BB;                                             \
            mix_block_##SUF(x, B, cg, wg, n, C, b, w, xt);                                        \
            fwd_block_##SUF(xp, coef + g * P, n, BB, ot);                                         \
            for (int j = 0; j < w; j++) y[g * B + b + j] = ot[j];                                 \
        }                                                                                         \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
static inline __attribute__((always_inline)) void mix_bwd_gates_##SUF(                            \
    const T *x, int64_t B, const int32_t *cand, const T *wm, int C, const T *coef, int64_t G,     \
    int n, const T *dy, T *dx, T *dc, T *dwp, int64_t b0, int64_t b1) {                           \
    const int P = 1 << n, H = 1 << (n - 1), NC = n * C;                                           \
    T acc[64][BB], accw[6 * LGN_MAX_CANDIDATES][BB];                                              \
    T dk[6 * 32], xt[6][BB], dxin[6][BB], dyt[BB];                                                \
    const T *xp[6];                                                                               \
    T *dxp[6];                                                                                    \
    for (int k = 0; k < 6; k++) {                                                                 \
        xp[k] = xt[k];                                                                            \
        dxp[k] = dxin[k];                                                                         \
    }                                                                                             \
    for (int64_t g = 0; g < G; g++) {                                                             \
        const T *c = coef + g * P;                                                                \
        const int32_t *cg = cand + g * NC;                                                        \
        const T *wg = wm + g * NC;                                                                \
        for (int k = 0; k < n; k++)                                                               \
            for (int q = 0; q < H; q++) {                                                         \
                int lo = q & ((1 << k) - 1), hi = (q >> k) << (k + 1);                            \
                int p0 = hi | lo, p1 = p0 | (1 << k);                                             \
                dk[k * H + q] = c[p1] - c[p0];                                                    \
            }                                                                                     \
        for (int p = 0; p < P; p++)                                                               \
            for (int j = 0; j < BB; j++) acc[p][j] = 0;                                           \
        for (int q = 0; q < NC; q++)                                                              \
            for (int j = 0; j < BB; j++) accw[q][j] = 0;                                          \
        for (int64_t b = b0; b < b1; b += BB) {                                                   \
            int w = b1 - b < BB ? (int)(b1 - b) : BB;                                             \
            mix_block_##SUF(x, B, cg, wg, n, C, b, w, xt);                                        \
            for (int j = 0; j < BB; j++) dyt[j] = j < w ? dy[g * B + b + j] : 0;                  \
            for (int k = 0; k < n; k++)                                                           \
                for (int j = 0; j < BB; j++) dxin[k][j] = 0;                                      \
            bwd_block_##SUF(xp, dk, n, BB, dyt, dxp, 1, acc);                                     \
            for (int k = 0; k < n; k++)                                                           \
                for (int cc = 0; cc < C; cc++) {                                                  \
                    const int q = k * C + cc;                                                     \
                    const T *xr = x + (int64_t)cg[q] * B + b;                                     \
                    if (w == BB)                                                                  \
                        for (int j = 0; j < BB; j++) accw[q][j] += dxin[k][j] * xr[j];            \
                    else                                                                          \
                        for (int j = 0; j < w; j++) accw[q][j] += dxin[k][j] * xr[j];             \
                    if (dx) {                                                                     \
                        T *dr = dx + (int64_t)cg[q] * B + b;                                      \
                        const T wc = wg[q];                                                       \
                        for (int j = 0; j < w; j++) dr[j] += wc * dxin[k][j];                     \
                    }                                                                             \
                }                                                                                 \
        }                                                                                         \
        for (int h = BB / 2; h >= 1; h >>= 1) {                                                   \
            for (int p = 0; p < P; p++)                                                           \
                for (int j = 0; j < h; j++) acc[p][j] += acc[p][j + h];                           \
            for (int q = 0; q < NC; q++)                                                          \
                for (int j = 0; j < h; j++) accw[q][j] += accw[q][j + h];                         \
        }                                                                                         \
        for (int p = 0; p < P; p++) dc[g * P + p] = acc[p][0];                                    \
        for (int q = 0; q < NC; q++) dwp[g * NC + q] = accw[q][0];                                \
    }                                                                                             \
}                                                                                                 \
                                                                                                  \
int lgn_mix_forward_##SUF(const T *x, int64_t B, const int32_t *cand, const T *wm, int C,         \
                          const T *coef, int64_t G, int n, T *y, int nthreads) {                  \
    if (n < 1 || n > 6 || C < 1 || C > LGN_MAX_CANDIDATES) return -1;                             \
    _Pragma("omp parallel num_threads(nthreads)")                                                 \
    {                                                                                             \
        int nt = 1, t = 0;                                                                        \
        IF_OMP(nt = omp_get_num_threads(); t = omp_get_thread_num();)                             \
        int64_t b0, b1;                                                                           \
        FTZ_BEGIN                                                                                 \
        col_range(B, nt, t, &b0, &b1);                                                            \
        if (b0 < b1) {                                                                            \
            switch (n) {                                                                          \
            case 1: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 1, y, b0, b1); break;         \
            case 2: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 2, y, b0, b1); break;         \
            case 3: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 3, y, b0, b1); break;         \
            case 4: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 4, y, b0, b1); break;         \
            case 5: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 5, y, b0, b1); break;         \
            default: mix_fwd_gates_##SUF(x, B, cand, wm, C, coef, G, 6, y, b0, b1); break;        \
            }                                                                                     \
        }                                                                                         \
        FTZ_END                                                                                   \
    }                                                                                             \
    return 0;                                                                                     \
}                                                                                                 \
                                                                                                  \
/* dx [in_dim, B] is overwritten and may be NULL; dcoef_part [nthreads, G, 2^n] and dw_part      \
 * [nthreads, G, n, C] are scratch; dcoef and dw receive their sums over threads, in order. */   \
int lgn_mix_backward_##SUF(const T *x, int64_t in_dim, int64_t B, const int32_t *cand,            \
                           const T *wm, int C, const T *coef, int64_t G, int n, const T *dy,      \
                           T *dx, T *dcoef_part, T *dcoef, T *dw_part, T *dw, int nthreads) {     \
    if (n < 1 || n > 6 || C < 1 || C > LGN_MAX_CANDIDATES) return -1;                             \
    const int64_t P = (int64_t)1 << n, NW = G * n * C;                                            \
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
        T *dwp = dw_part + (int64_t)t * NW;                                                       \
        if (b0 >= b1) {                                                                           \
            memset(dc, 0, sizeof(T) * (size_t)(G * P));                                           \
            memset(dwp, 0, sizeof(T) * (size_t)NW);                                               \
        } else {                                                                                  \
            if (dx)                                                                               \
                for (int64_t i = 0; i < in_dim; i++)                                              \
                    memset(dx + i * B + b0, 0, sizeof(T) * (size_t)(b1 - b0));                    \
            switch (n) {                                                                          \
            case 1: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 1, dy, dx, dc, dwp, b0, b1); break; \
            case 2: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 2, dy, dx, dc, dwp, b0, b1); break; \
            case 3: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 3, dy, dx, dc, dwp, b0, b1); break; \
            case 4: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 4, dy, dx, dc, dwp, b0, b1); break; \
            case 5: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 5, dy, dx, dc, dwp, b0, b1); break; \
            default: mix_bwd_gates_##SUF(x, B, cand, wm, C, coef, G, 6, dy, dx, dc, dwp, b0, b1); break; \
            }                                                                                     \
        }                                                                                         \
        FTZ_END                                                                                   \
    }                                                                                             \
    sum_threads_##SUF(dcoef_part, used, G * P, dcoef);                                            \
    sum_threads_##SUF(dw_part, used, NW, dw);                                                     \
    return 0;                                                                                     \
}
