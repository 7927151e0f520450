// layer_kernels.cu: CUDA kernels of one logic layer (forward, backward, input-gradient gather),
// for IWP gates of fan-in N = 1..6 (estimator sin or sigmoid) and for the original 16-softmax
// two-input parametrisation, on equal footing: both become 2^N multilinear coefficients per gate
// and share every per-sample kernel; they differ only in the per-gate parameter policy.
//
// Layout (feature-major, float32, contiguous): x[in_dim, B], idx[G, N] int32, params[G, P],
// y[G, B]. Work split: one warp per gate (4 gates per 128-thread block); lanes stride the batch,
// so every activation row access is coalesced. The per-element arithmetic is in lgn_math.cuh.
//
// Backward without atomics:
//  - parameter gradient: each lane accumulates the 2^N coefficient gradients over its share of the
//    batch in registers, then a warp reduce-scatter (warp_reduce.cuh) sums them: one writer per
//    value, deterministic.
//  - input gradient: the backward kernel writes gy * dy/dx_k of gate g to row slot[g, k] of a
//    partial buffer[G * N, B]; slot orders the (gate, input) pairs by the input they read (a CSR
//    reverse index built once per layer, train/kernels/reverse_index.py), so gather_rows sums a
//    contiguous run of rows ptr[i] .. ptr[i + 1] into gx[i]: a fixed-order gather, no atomics.
#include "lgn_math.cuh"
#include "warp_reduce.cuh"

#define LGN_GATES_PER_BLOCK 4
#define LGN_ROWS_PER_BLOCK 8

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
                                      float* __restrict__ gw, int lane) {
        for (int p = lane; p < (1 << N); p += 32) gw[p] = iwp_param_grad<EST>(w[p], s_gc[p]);
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
                                      float* __restrict__ gw, int lane) {
        if (lane < 16) gw[lane] = softmax16_param_grad(w, s_gc, lane);
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

template <class P, bool PGRAD, bool GX>
__device__ __forceinline__ void backward_body(const float* __restrict__ x, const int* __restrict__ idx,
                                              const float* __restrict__ w, const float* __restrict__ gy,
                                              float* __restrict__ gw, float* __restrict__ partial,
                                              const int* __restrict__ slot, int G, int B) {
    constexpr int N = P::FAN_IN;
    constexpr int M = 1 << N;
    __shared__ float s_c[LGN_GATES_PER_BLOCK][M];
    __shared__ float s_gc[LGN_GATES_PER_BLOCK][M];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = blockIdx.x * LGN_GATES_PER_BLOCK + warp;
    if (g >= G) return;
    P::coefficients(w + (size_t)g * P::PARAMS, s_c[warp], lane);
    __syncwarp();
    float c[M];
    LGN_UNROLL
    for (int p = 0; p < M; ++p) c[p] = s_c[warp][p];
    const float* xr[N];
    float* pr[N];
    LGN_UNROLL
    for (int k = 0; k < N; ++k) {
        xr[k] = x + (size_t)idx[(size_t)g * N + k] * B;
        pr[k] = GX ? partial + (size_t)slot[(size_t)g * N + k] * B : nullptr;
    }
    const float* gyr = gy + (size_t)g * B;
    float acc[M];
    LGN_UNROLL
    for (int p = 0; p < M; ++p) acc[p] = 0.f;
    for (int b = lane; b < B; b += 32) {
        float xv[N], gxv[N];
        LGN_UNROLL
        for (int k = 0; k < N; ++k) xv[k] = __ldg(xr[k] + b);
        lerp_tree_backward<N, PGRAD>(c, xv, __ldg(gyr + b), gxv, acc);
        if (GX) {
            LGN_UNROLL
            for (int k = 0; k < N; ++k) pr[k][b] = gxv[k];
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
        P::param_grad(w + (size_t)g * P::PARAMS, s_gc[warp], gw + (size_t)g * P::PARAMS, lane);
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

// gtheta[G, 2^N] (unless HARD) and, if GX, partial[slot[g, k], B]. grid ceil(G / 4), block 128.
template <int N, int EST, bool HARD, bool GX>
__global__ void __launch_bounds__(128)
iwp_backward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ theta,
             const float* __restrict__ gy, float* __restrict__ gtheta, float* __restrict__ partial,
             const int* __restrict__ slot, int G, int B) {
    lgn::backward_body<lgn::IwpParams<N, EST, HARD>, !HARD, GX>(x, idx, theta, gy, gtheta, partial,
                                                                 slot, G, B);
}

// The original parametrisation (logits[G, 16]), same launch shapes as IWP with N = 2.
template <bool HARD>
__global__ void __launch_bounds__(128)
orig_forward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ logits,
             float* __restrict__ y, int G, int B, int chunk) {
    lgn::forward_body<lgn::SoftmaxParams<HARD>>(x, idx, logits, y, G, B, chunk);
}

template <bool HARD, bool GX>
__global__ void __launch_bounds__(128)
orig_backward(const float* __restrict__ x, const int* __restrict__ idx, const float* __restrict__ logits,
              const float* __restrict__ gy, float* __restrict__ glogits, float* __restrict__ partial,
              const int* __restrict__ slot, int G, int B) {
    lgn::backward_body<lgn::SoftmaxParams<HARD>, !HARD, GX>(x, idx, logits, gy, glogits, partial,
                                                             slot, G, B);
}

// gx[i, b] = sum over rows r in [ptr[i], ptr[i+1]) of partial[r, b], in row order.
// grid (ceil(rows / 8), ceil(B / chunk)), block 256: one warp per input row.
extern "C" __global__ void __launch_bounds__(256)
gather_rows(const float* __restrict__ partial, const int* __restrict__ ptr, float* __restrict__ gx,
            int rows, int B, int chunk) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int i = blockIdx.x * LGN_ROWS_PER_BLOCK + warp;
    if (i >= rows) return;
    const int r0 = ptr[i], r1 = ptr[i + 1];
    const int b0 = blockIdx.y * chunk;
    const int b1 = min(B, b0 + chunk);
    float* out = gx + (size_t)i * B;
    for (int b = b0 + lane; b < b1; b += 32) {
        float s = 0.f;
#pragma unroll 4
        for (int r = r0; r < r1; ++r) s += __ldg(partial + (size_t)r * B + b);
        out[b] = s;
    }
}
