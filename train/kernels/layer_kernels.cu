// layer_kernels.cu: CUDA kernels of one logic layer (forward, backward, input-gradient gather),
// for IWP gates of fan-in N = 1..6 (estimator sin or sigmoid) and for the original 16-softmax
// two-input parametrisation, on equal footing: both become 2^N multilinear coefficients per gate
// and share every per-sample kernel; they differ only in the per-gate parameter policy.
//
// Layout (feature-major, float32, contiguous): x[in_dim, B], idx[G, N] int32, params[G, P],
// y[G, B]. Work split: one warp per gate (4 gates per 128-thread block); lanes stride the batch,
// so every activation row access is coalesced. The per-element arithmetic is in lgn_math.cuh.
//
// Modes: soft (relaxed coefficients, parameter gradient), hard (0/1 tables, no parameter
// gradient: eval) and straight-through (0/1 tables forward and for the input gradient, the soft
// parameter gradient: --hard-finetune). HARD picks the coefficients, PGRAD the parameter gradient.
//
// Backward without atomics, over one batch range [b_begin, b_end) per launch (the host splits a
// large batch into ranges to bound the scratch memory, train/kernels/plan.py):
//  - parameter gradient: grid.y splits the range into slices of `span` samples (small layers
//    would leave SMs idle otherwise); each lane accumulates the 2^N coefficient gradients over its
//    share of the slice in registers, a warp reduce-scatter (warp_reduce.cuh) sums them, and the
//    slice's parameter gradient goes to row blockIdx.y of gparams[S, G, P] (added to it when
//    `accumulate`, i.e. for every range after the first): one writer per value, deterministic.
//  - input gradient: the backward kernel writes gy * dy/dx_k of gate g to row slot[g, k] of a
//    partial buffer[G * N, b_end - b_begin]; slot orders the (gate, input) pairs by the input they
//    read (a CSR reverse index built once per layer, train/kernels/reverse_index.py), so
//    gather_rows sums a contiguous run of rows ptr[i] .. ptr[i + 1] into gx[i, b_begin + ..]: a
//    fixed-order gather, no atomics.
#include "lgn_math.cuh"
#include "warp_reduce.cuh"

#define LGN_GATES_PER_BLOCK 4
#define LGN_ROWS_PER_BLOCK 8
// Blocks per SM the fan-in-6 backward with both gradients is compiled for (ptxas caps its
// registers at 65536 / (128 * blocks)): the 2^6 coefficient accumulators plus the 63 kept lerp
// levels need ~200 registers unbounded, i.e. 2 blocks (12.5% occupancy).
#ifndef LGN_FANIN6_MIN_BLOCKS
#define LGN_FANIN6_MIN_BLOCKS 3
#endif
#define LGN_BACKWARD_MIN_BLOCKS(N, PGRAD, GX) (((N) == 6 && (PGRAD) && (GX)) ? LGN_FANIN6_MIN_BLOCKS : 1)

namespace lgn {

struct WarpShfl {
    __device__ __forceinline__ float operator()(float v, int o) const {
        return __shfl_xor_sync(0xffffffffu, v, o);
    }
};

// Parameter policy of IWP gates: theta[G, 2^N], coefficient p = rho(theta_p) (hard: rho > 0.5).
template <int N, int EST, bool HARD>
struct IwpParams {
    static_assert(N >= 1 && N <= 6, "IWP kernels support fan-in 1..6");
    static constexpr int FAN_IN = N;
    static constexpr int PARAMS = 1 << N;
    __device__ static void coefficients(const float* __restrict__ w, float* s_c, int lane) {
        for (int p = lane; p < (1 << N); p += 32) s_c[p] = iwp_coefficient<EST, HARD>(w[p]);
    }
    __device__ static void param_grad(const float* __restrict__ w, const float* s_gc,
                                      float* __restrict__ gw, int lane, bool accumulate) {
        for (int p = lane; p < (1 << N); p += 32) {
            const float v = iwp_param_grad<EST>(w[p], s_gc[p]);
            gw[p] = accumulate ? gw[p] + v : v;
        }
    }
};

// Parameter policy of the original parametrisation: logits[G, 16], c = softmax(w) @ bits.
template <bool HARD>
struct SoftmaxParams {
    static constexpr int FAN_IN = 2;
    static constexpr int PARAMS = 16;
    __device__ static void coefficients(const float* __restrict__ w, float* s_c, int lane) {
        if (lane == 0) {
            float c[4];
            softmax16_coefficients<HARD>(w, c);
            LGN_UNROLL
            for (int p = 0; p < 4; ++p) s_c[p] = c[p];
        }
    }
    __device__ static void param_grad(const float* __restrict__ w, const float* s_gc,
                                      float* __restrict__ gw, int lane, bool accumulate) {
        if (lane < 16) {
            const float v = softmax16_param_grad(w, s_gc, lane);
            gw[lane] = accumulate ? gw[lane] + v : v;
        }
    }
};

template <class P>
__device__ __forceinline__ void forward_body(const float* __restrict__ x, const int* __restrict__ idx,
                                             const float* __restrict__ w, float* __restrict__ y,
                                             int G, int B, int chunk) {
    constexpr int N = P::FAN_IN;
    constexpr int M = 1 << N;
    __shared__ float s_c[LGN_GATES_PER_BLOCK][M];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = blockIdx.x * LGN_GATES_PER_BLOCK + warp;
    if (g >= G) return;  // whole warp leaves together
    P::coefficients(w + (size_t)g * P::PARAMS, s_c[warp], lane);
    __syncwarp();
    float c[M];
    LGN_UNROLL
    for (int p = 0; p < M; ++p) c[p] = s_c[warp][p];
    const float* xr[N];
    LGN_UNROLL
    for (int k = 0; k < N; ++k) xr[k] = x + (size_t)idx[(size_t)g * N + k] * B;
    float* yr = y + (size_t)g * B;
    const int b0 = blockIdx.y * chunk;
    const int b1 = min(B, b0 + chunk);
#pragma unroll 2
    for (int b = b0 + lane; b < b1; b += 32) {
        float xv[N];
        LGN_UNROLL
        for (int k = 0; k < N; ++k) xv[k] = __ldg(xr[k] + b);
        yr[b] = lerp_tree<N>(c, xv);
    }
}

// Coefficients a backward lane reads per sample: registers for small fan-in; for fan-in >= 5 they
// stay in the warp's shared row (a broadcast read, no bank conflict), which frees 2^N registers
// for the lerp tree and the accumulators (fan-in 6 with the input gradient went from 255 to fewer
// registers, see tests/test_kernels_compile.py).
template <int M, bool SHARED>
struct CoefView;

template <int M>
struct CoefView<M, false> {
    float c[M];
    __device__ __forceinline__ explicit CoefView(const float* s) {
        LGN_UNROLL
        for (int p = 0; p < M; ++p) c[p] = s[p];
    }
    __device__ __forceinline__ const float* ptr() const { return c; }
};

template <int M>
struct CoefView<M, true> {
    const float* c;
    __device__ __forceinline__ explicit CoefView(const float* s) : c(s) {}
    __device__ __forceinline__ const float* ptr() const { return c; }
};

template <class P, bool PGRAD, bool GX>
__device__ __forceinline__ void backward_body(const float* __restrict__ x, const int* __restrict__ idx,
                                              const float* __restrict__ w, const float* __restrict__ gy,
                                              float* __restrict__ gw, float* __restrict__ partial,
                                              const int* __restrict__ slot, int G, int B, int b_begin,
                                              int b_end, int span, int accumulate) {
    constexpr int N = P::FAN_IN;
    constexpr int M = 1 << N;
    __shared__ float s_c[LGN_GATES_PER_BLOCK][M];
    __shared__ float s_gc[LGN_GATES_PER_BLOCK][M];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = blockIdx.x * LGN_GATES_PER_BLOCK + warp;
    if (g >= G) return;  // whole warp leaves together
    P::coefficients(w + (size_t)g * P::PARAMS, s_c[warp], lane);
    __syncwarp();
    const CoefView<M, (N >= 5)> cv(s_c[warp]);
    const float* c = cv.ptr();
    const int width = b_end - b_begin;  // row length of the partial buffer
    const float* xr[N];
    float* pr[N];
    LGN_UNROLL
    for (int k = 0; k < N; ++k) {
        xr[k] = x + (size_t)idx[(size_t)g * N + k] * B;
        pr[k] = GX ? partial + (size_t)slot[(size_t)g * N + k] * width : nullptr;
    }
    const float* gyr = gy + (size_t)g * B;
    float acc[M];
    LGN_UNROLL
    for (int p = 0; p < M; ++p) acc[p] = 0.f;
    const int s0 = b_begin + blockIdx.y * span;
    const int s1 = min(b_end, s0 + span);
    if constexpr (N >= 5) {
        // Fan-in 5-6 (few resident warps, long per-sample arithmetic): the next sample's loads
        // are issued before this sample's lerp tree (the batch loop unrolled by one stage of
        // software pipelining), so the n + 1 global loads overlap the arithmetic.
        int b = s0 + lane;
        float xv[N], gyv = 0.f;
        if (b < s1) {
            LGN_UNROLL
            for (int k = 0; k < N; ++k) xv[k] = __ldg(xr[k] + b);
            gyv = __ldg(gyr + b);
        }
        while (b < s1) {
            const int bn = b + 32;
            float xn[N], gyn = 0.f;
            if (bn < s1) {
                LGN_UNROLL
                for (int k = 0; k < N; ++k) xn[k] = __ldg(xr[k] + bn);
                gyn = __ldg(gyr + bn);
            }
            float gxv[N];
            lerp_tree_backward<N, PGRAD>(c, xv, gyv, gxv, acc);
            if (GX) {
                LGN_UNROLL
                for (int k = 0; k < N; ++k) pr[k][b - b_begin] = gxv[k];
            }
            b = bn;
            LGN_UNROLL
            for (int k = 0; k < N; ++k) xv[k] = xn[k];
            gyv = gyn;
        }
    } else {
        // Fan-in 1-4: short arithmetic, many resident warps hide the load latency.
        for (int b = s0 + lane; b < s1; b += 32) {
            float xv[N], gxv[N];
            LGN_UNROLL
            for (int k = 0; k < N; ++k) xv[k] = __ldg(xr[k] + b);
            lerp_tree_backward<N, PGRAD>(c, xv, __ldg(gyr + b), gxv, acc);
            if (GX) {
                LGN_UNROLL
                for (int k = 0; k < N; ++k) pr[k][b - b_begin] = gxv[k];
            }
        }
    }
    if (PGRAD) {
        WarpShfl shfl;
        ReduceScatter<M>::run(acc, lane, shfl);
        if (ReduceScatter<M>::owner(lane)) {
            const int base = ReduceScatter<M>::base(lane);
            LGN_UNROLL
            for (int j = 0; j < ReduceScatter<M>::R; ++j) s_gc[warp][base + j] = acc[j];
        }
        __syncwarp();
        float* out = gw + ((size_t)blockIdx.y * G + g) * P::PARAMS;
        P::param_grad(w + (size_t)g * P::PARAMS, s_gc[warp], out, lane, accumulate != 0);
    }
}

}  // namespace lgn

// ---- kernel entry points (name expressions, see train/kernels/compile.py) ----

// y[G, B] of an IWP layer. grid (ceil(G / 4), ceil(B / chunk)), block 128.
template <int N, int EST, bool HARD>
__global__ void __launch_bounds__(128)
iwp_forward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ theta,
            float* __restrict__ y, int G, int B, int chunk) {
    lgn::forward_body<lgn::IwpParams<N, EST, HARD>>(x, idx, theta, y, G, B, chunk);
}

// Over samples [b_begin, b_end): if PGRAD, gtheta[S, G, 2^N] row blockIdx.y (added if accumulate);
// if GX, partial[slot[g, k], b - b_begin]. grid (ceil(G / 4), S = ceil((b_end - b_begin) / span)),
// block 128.
template <int N, int EST, bool HARD, bool PGRAD, bool GX>
__global__ void __launch_bounds__(128, LGN_BACKWARD_MIN_BLOCKS(N, PGRAD, GX))
iwp_backward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ theta,
             const float* __restrict__ gy, float* __restrict__ gtheta, float* __restrict__ partial,
             const int* __restrict__ slot, int G, int B, int b_begin, int b_end, int span,
             int accumulate) {
    lgn::backward_body<lgn::IwpParams<N, EST, HARD>, PGRAD, GX>(x, idx, theta, gy, gtheta, partial,
                                                                 slot, G, B, b_begin, b_end, span,
                                                                 accumulate);
}

// The original parametrisation (logits[G, 16]), same launch shapes as IWP with N = 2.
template <bool HARD>
__global__ void __launch_bounds__(128)
orig_forward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ logits,
             float* __restrict__ y, int G, int B, int chunk) {
    lgn::forward_body<lgn::SoftmaxParams<HARD>>(x, idx, logits, y, G, B, chunk);
}

template <bool HARD, bool PGRAD, bool GX>
__global__ void __launch_bounds__(128)
orig_backward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ logits,
              const float* __restrict__ gy, float* __restrict__ glogits, float* __restrict__ partial,
              const int* __restrict__ slot, int G, int B, int b_begin, int b_end, int span,
              int accumulate) {
    lgn::backward_body<lgn::SoftmaxParams<HARD>, PGRAD, GX>(x, idx, logits, gy, glogits, partial,
                                                             slot, G, B, b_begin, b_end, span,
                                                             accumulate);
}

// gx[i, col0 + b] = sum over rows r in [ptr[i], ptr[i+1]) of partial[r, b], in row order, for b in
// [0, width); gx has row stride ld. grid (ceil(rows / 8), ceil(width / chunk)), block 256: one warp
// per input row.
extern "C" __global__ void __launch_bounds__(256)
gather_rows(const float* __restrict__ partial, const int* __restrict__ ptr, float* __restrict__ gx,
            int rows, int width, int ld, int col0, int chunk) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int i = blockIdx.x * LGN_ROWS_PER_BLOCK + warp;
    if (i >= rows) return;
    const int r0 = ptr[i], r1 = ptr[i + 1];
    const int b0 = blockIdx.y * chunk;
    const int b1 = min(width, b0 + chunk);
    float* out = gx + (size_t)i * ld + col0;
    for (int b = b0 + lane; b < b1; b += 32) {
        float s = 0.f;
#pragma unroll 4
        for (int r = r0; r < r1; ++r) s += __ldg(partial + (size_t)r * width + b);
        out[b] = s;
    }
}
