// host_shim.cu: a C ABI over the kernels' per-element arithmetic (lgn_math.cuh) and warp
// reduce-scatter (warp_reduce.cuh), compiled as *host* C++ (g++ -x c++ -std=c++20) and loaded with
// ctypes by train/kernels/host.py. It mirrors the CUDA kernels' loops gate by gate on the CPU so
// the tests (and bench/kernels.py --dry-run) check the same device functions against the torch
// reference without a GPU. Not a fast path: the layers use train/cext.py on the CPU.
//
// Layout as the kernels: x[in_dim, B], idx[G, n] int32, params[G, P], y[G, B];
// partial[G * n, B] rows ordered by slot[G, n] (the CSR reverse index), gathered by ptr[in_dim + 1].
#include <barrier>
#include <cstddef>
#include <thread>
#include <vector>

#include "lgn_math.cuh"
#include "warp_reduce.cuh"

namespace {

using lgn::EST_SIGMOID;
using lgn::EST_SIN;

template <int N, int EST, bool HARD, typename T>
void iwp_forward(const T* x, const int* idx, const T* theta, T* y, int G, int B) {
    constexpr int M = 1 << N;
    for (int g = 0; g < G; ++g) {
        T c[M], xv[N];
        for (int p = 0; p < M; ++p) c[p] = lgn::iwp_coefficient<EST, HARD>(theta[(size_t)g * M + p]);
        for (int b = 0; b < B; ++b) {
            for (int k = 0; k < N; ++k) xv[k] = x[(size_t)idx[(size_t)g * N + k] * B + b];
            y[(size_t)g * B + b] = lgn::lerp_tree<N>(c, xv);
        }
    }
}

template <int N, bool PGRAD, typename T>
void gate_backward(const T* c, const T* x, const int* idx, const T* gy, T* acc, T* partial,
                   const int* slot, int g, int B) {
    constexpr int M = 1 << N;
    for (int p = 0; p < M; ++p) acc[p] = T(0);
    T xv[N], gxv[N];
    for (int b = 0; b < B; ++b) {
        for (int k = 0; k < N; ++k) xv[k] = x[(size_t)idx[(size_t)g * N + k] * B + b];
        lgn::lerp_tree_backward<N, PGRAD>(c, xv, gy[(size_t)g * B + b], gxv, acc);
        if (partial)
            for (int k = 0; k < N; ++k) partial[(size_t)slot[(size_t)g * N + k] * B + b] = gxv[k];
    }
}

template <int N, int EST, bool HARD, typename T>
void iwp_backward(const T* x, const int* idx, const T* theta, const T* gy, T* gtheta, T* partial,
                  const int* slot, int G, int B) {
    constexpr int M = 1 << N;
    for (int g = 0; g < G; ++g) {
        T c[M], acc[M];
        for (int p = 0; p < M; ++p) c[p] = lgn::iwp_coefficient<EST, HARD>(theta[(size_t)g * M + p]);
        gate_backward<N, !HARD>(c, x, idx, gy, acc, partial, slot, g, B);
        if (!HARD)
            for (int p = 0; p < M; ++p)
                gtheta[(size_t)g * M + p] = lgn::iwp_param_grad<EST>(theta[(size_t)g * M + p], acc[p]);
    }
}

template <bool HARD, typename T>
void orig_forward(const T* x, const int* idx, const T* w, T* y, int G, int B) {
    for (int g = 0; g < G; ++g) {
        T c[4], xv[2];
        lgn::softmax16_coefficients<HARD>(w + (size_t)g * 16, c);
        for (int b = 0; b < B; ++b) {
            for (int k = 0; k < 2; ++k) xv[k] = x[(size_t)idx[(size_t)g * 2 + k] * B + b];
            y[(size_t)g * B + b] = lgn::lerp_tree<2>(c, xv);
        }
    }
}

template <bool HARD, typename T>
void orig_backward(const T* x, const int* idx, const T* w, const T* gy, T* gw, T* partial,
                   const int* slot, int G, int B) {
    for (int g = 0; g < G; ++g) {
        T c[4], acc[4];
        lgn::softmax16_coefficients<HARD>(w + (size_t)g * 16, c);
        gate_backward<2, !HARD>(c, x, idx, gy, acc, partial, slot, g, B);
        if (!HARD)
            for (int f = 0; f < 16; ++f) gw[(size_t)g * 16 + f] = lgn::softmax16_param_grad(w + (size_t)g * 16, acc, f);
    }
}

template <typename T>
void gather(const T* partial, const int* ptr, T* gx, int rows, int B) {
    for (int i = 0; i < rows; ++i)
        for (int b = 0; b < B; ++b) {
            T s = T(0);
            for (int r = ptr[i]; r < ptr[i + 1]; ++r) s += partial[(size_t)r * B + b];
            gx[(size_t)i * B + b] = s;
        }
}

// Dispatch a runtime (n, est, hard) to the templates; returns 0, or -1 for a bad configuration.
template <typename T, template <int, int, bool> class F, class... A>
int dispatch(int n, int est, int hard, A... a) {
#define LGN_CASE(NN)                                                                    \
    case NN:                                                                            \
        if (est == EST_SIN) hard ? F<NN, EST_SIN, true>::run(a...) : F<NN, EST_SIN, false>::run(a...); \
        else hard ? F<NN, EST_SIGMOID, true>::run(a...) : F<NN, EST_SIGMOID, false>::run(a...); \
        return 0;
    if (est != EST_SIN && est != EST_SIGMOID) return -1;
    switch (n) {
        LGN_CASE(1) LGN_CASE(2) LGN_CASE(3) LGN_CASE(4) LGN_CASE(5) LGN_CASE(6)
    }
#undef LGN_CASE
    return -1;
}

template <typename T>
struct Fwd {
    template <int N, int EST, bool HARD>
    struct F {
        static void run(const T* x, const int* idx, const T* th, T* y, int G, int B) {
            iwp_forward<N, EST, HARD, T>(x, idx, th, y, G, B);
        }
    };
};

template <typename T>
struct Bwd {
    template <int N, int EST, bool HARD>
    struct F {
        static void run(const T* x, const int* idx, const T* th, const T* gy, T* gth, T* part,
                        const int* slot, int G, int B) {
            iwp_backward<N, EST, HARD, T>(x, idx, th, gy, gth, part, slot, G, B);
        }
    };
};

// Runs ReduceScatter<M> with 32 host threads standing in for the lanes of a warp.
template <int M>
void warp_reduce_scatter(const float* in, float* out, int* base, int* owner) {
    std::barrier sync(32);
    std::vector<float> slots(32);
    auto lane_main = [&](int lane) {
        float v[M];
        for (int p = 0; p < M; ++p) v[p] = in[lane * M + p];
        auto shfl = [&](float val, int o) {
            slots[lane] = val;
            sync.arrive_and_wait();
            const float r = slots[lane ^ o];
            sync.arrive_and_wait();
            return r;
        };
        lgn::ReduceScatter<M>::run(v, lane, shfl);
        for (int j = 0; j < lgn::ReduceScatter<M>::R; ++j) out[lane * M + j] = v[j];
        base[lane] = lgn::ReduceScatter<M>::base(lane);
        owner[lane] = lgn::ReduceScatter<M>::owner(lane) ? 1 : 0;
    };
    std::vector<std::thread> lanes;
    for (int l = 0; l < 32; ++l) lanes.emplace_back(lane_main, l);
    for (auto& t : lanes) t.join();
}

}  // namespace

extern "C" {

#define LGN_EXPORT __attribute__((visibility("default")))

#define LGN_TYPED(SUFFIX, T)                                                                        \
    LGN_EXPORT int lgn_iwp_forward_##SUFFIX(int n, int est, int hard, const T* x, const int* idx,    \
                                            const T* theta, T* y, int G, int B) {                   \
        return dispatch<T, Fwd<T>::template F>(n, est, hard, x, idx, theta, y, G, B);               \
    }                                                                                               \
    LGN_EXPORT int lgn_iwp_backward_##SUFFIX(int n, int est, int hard, const T* x, const int* idx,   \
                                             const T* theta, const T* gy, T* gtheta, T* partial,     \
                                             const int* slot, int G, int B) {                        \
        return dispatch<T, Bwd<T>::template F>(n, est, hard, x, idx, theta, gy, gtheta, partial,     \
                                               slot, G, B);                                          \
    }                                                                                               \
    LGN_EXPORT int lgn_orig_forward_##SUFFIX(int hard, const T* x, const int* idx, const T* w, T* y, \
                                             int G, int B) {                                         \
        hard ? orig_forward<true, T>(x, idx, w, y, G, B) : orig_forward<false, T>(x, idx, w, y, G, B); \
        return 0;                                                                                   \
    }                                                                                               \
    LGN_EXPORT int lgn_orig_backward_##SUFFIX(int hard, const T* x, const int* idx, const T* w,      \
                                              const T* gy, T* gw, T* partial, const int* slot,       \
                                              int G, int B) {                                        \
        hard ? orig_backward<true, T>(x, idx, w, gy, gw, partial, slot, G, B)                        \
             : orig_backward<false, T>(x, idx, w, gy, gw, partial, slot, G, B);                      \
        return 0;                                                                                   \
    }                                                                                               \
    LGN_EXPORT int lgn_gather_##SUFFIX(const T* partial, const int* ptr, T* gx, int rows, int B) {   \
        gather<T>(partial, ptr, gx, rows, B);                                                        \
        return 0;                                                                                   \
    }

LGN_TYPED(f32, float)
LGN_TYPED(f64, double)

LGN_EXPORT int lgn_warp_reduce_scatter(int m, const float* in, float* out, int* base, int* owner) {
    switch (m) {
        case 2: warp_reduce_scatter<2>(in, out, base, owner); return 0;
        case 4: warp_reduce_scatter<4>(in, out, base, owner); return 0;
        case 8: warp_reduce_scatter<8>(in, out, base, owner); return 0;
        case 16: warp_reduce_scatter<16>(in, out, base, owner); return 0;
        case 32: warp_reduce_scatter<32>(in, out, base, owner); return 0;
        case 64: warp_reduce_scatter<64>(in, out, base, owner); return 0;
    }
    return -1;
}

}  // extern "C"
