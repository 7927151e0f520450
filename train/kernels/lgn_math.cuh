// lgn_math.cuh: the per-element arithmetic of the logic-layer kernels, usable as host and device
// code. The CUDA kernels (layer_kernels.cu) and the CPU shim (host_shim.cu, compiled with g++ and
// loaded through ctypes by train/kernels/host.py) both call exactly these functions, so the
// arithmetic is tested on the CPU against the torch reference (train/functional.py).
//
// Conventions (docs/netlist.md): coefficient index p, bit k of p is input k (input 0 least
// significant). y = sum_p c_p prod_k (x_k if bit k of p else 1 - x_k), evaluated as a lerp tree
// that folds input 0 first: 2^n - 1 lerps per sample.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define LGN_HD __host__ __device__ __forceinline__
#define LGN_UNROLL _Pragma("unroll")
#else
#include <math.h>
#define LGN_HD inline
#define LGN_UNROLL
#endif

namespace lgn {

enum Estimator { EST_SIN = 0, EST_SIGMOID = 1 };

LGN_HD float fsin(float v) { return sinf(v); }
LGN_HD double fsin(double v) { return sin(v); }
LGN_HD float fcos(float v) { return cosf(v); }
LGN_HD double fcos(double v) { return cos(v); }
LGN_HD float fexp(float v) { return expf(v); }
LGN_HD double fexp(double v) { return exp(v); }

// rho(theta): sinusoidal 0.5 + 0.5 sin(theta), or sigmoid(theta).
template <int EST, typename T>
LGN_HD T estimator(T theta) {
    if (EST == EST_SIN) return T(0.5) + T(0.5) * fsin(theta);
    return T(1) / (T(1) + fexp(-theta));
}

// d rho / d theta.
template <int EST, typename T>
LGN_HD T estimator_grad(T theta) {
    if (EST == EST_SIN) return T(0.5) * fcos(theta);
    T r = T(1) / (T(1) + fexp(-theta));
    return r * (T(1) - r);
}

// The coefficient a gate uses: rho(theta), or in hard (eval) mode the table bit rho > 0.5
// (strict, like lgn_hw.gates.table_from_coefficients and train.functional.hard_coefficients).
template <int EST, bool HARD, typename T>
LGN_HD T iwp_coefficient(T theta) {
    T r = estimator<EST>(theta);
    if (HARD) return r > T(0.5) ? T(1) : T(0);
    return r;
}

// Parameter gradient of one IWP coefficient from the batch-reduced coefficient gradient.
template <int EST, typename T>
LGN_HD T iwp_param_grad(T theta, T gc) {
    return gc * estimator_grad<EST>(theta);
}

// Fold input K of a lerp level: v[j] = lerp(v[2j], v[2j+1], x[K]) for the 2^(N-1-K) pairs, in
// place, then the next input. Recursion over K keeps every trip count a compile-time constant, so
// the arrays stay in registers when compiled for the GPU.
template <int N, int K, typename T>
LGN_HD void fold_levels(T* v, const T* x) {
    if constexpr (K < N) {
        LGN_UNROLL
        for (int j = 0; j < (1 << (N - 1 - K)); ++j) v[j] = v[2 * j] + x[K] * (v[2 * j + 1] - v[2 * j]);
        fold_levels<N, K + 1>(v, x);
    }
}

// y = multilinear extension of c at x, as a lerp tree (input 0 folded first).
template <int N, typename T>
LGN_HD T lerp_tree(const T* c, const T* x) {
    T v[1 << (N - 1)];
    LGN_UNROLL
    for (int j = 0; j < (1 << (N - 1)); ++j) v[j] = c[2 * j] + x[0] * (c[2 * j + 1] - c[2 * j]);
    fold_levels<N, 1>(v, x);
    return v[0];
}

// Offset of tree level k (k = 1..N, 2^(N-k) entries) in the backward buffer of 2^N entries.
template <int N, int K>
struct Level {
    static constexpr int OFF = (1 << N) - (1 << (N - K + 1));
    static constexpr int SIZE = 1 << (N - K);
};

// Forward sweep keeping every level: level K+1 from level K, K = 1..N-1.
template <int N, int K, typename T>
LGN_HD void keep_levels(T* buf, const T* x) {
    if constexpr (K < N) {
        LGN_UNROLL
        for (int j = 0; j < Level<N, K + 1>::SIZE; ++j) {
            const T lo = buf[Level<N, K>::OFF + 2 * j], hi = buf[Level<N, K>::OFF + 2 * j + 1];
            buf[Level<N, K + 1>::OFF + j] = lo + x[K] * (hi - lo);
        }
        keep_levels<N, K + 1>(buf, x);
    }
}

// Backward sweep from level K+1 (adjoints A) to level K (values L, or c when K = 0):
//   gx[K] = sum_j A[j] (L[2j+1] - L[2j]);  adjoint of L[2j] = A[j](1 - x_K), of L[2j+1] = A[j] x_K.
// Level K's storage is overwritten with its adjoints once its differences are used; at K = 0 the
// adjoints are the basis weights times gy and are added to gc_acc (if PGRAD).
template <int N, int K, bool PGRAD, typename T>
LGN_HD void back_levels(const T* c, T* buf, const T* x, T* gx, T* gc_acc) {
    if constexpr (K >= 0) {
        constexpr int A = Level<N, K + 1>::OFF;
        constexpr int H = Level<N, K + 1>::SIZE;
        const T* L = K == 0 ? c : buf + Level<N, (K > 0 ? K : 1)>::OFF;
        T s = T(0);
        LGN_UNROLL
        for (int j = 0; j < H; ++j) s += buf[A + j] * (L[2 * j + 1] - L[2 * j]);
        gx[K] = s;
        if constexpr (K > 0) {
            T* D = buf + Level<N, K>::OFF;
            LGN_UNROLL
            for (int j = 0; j < H; ++j) {
                const T hi = buf[A + j] * x[K];
                D[2 * j + 1] = hi;
                D[2 * j] = buf[A + j] - hi;
            }
            back_levels<N, K - 1, PGRAD>(c, buf, x, gx, gc_acc);
        } else if constexpr (PGRAD) {
            LGN_UNROLL
            for (int j = 0; j < H; ++j) {
                const T hi = buf[A + j] * x[0];
                gc_acc[2 * j + 1] += hi;
                gc_acc[2 * j] += buf[A + j] - hi;
            }
        }
    }
}

// Reverse mode through the lerp tree, for one sample with output gradient gy:
//   gx[k] = gy * dy/dx_k  (for every input k), and, if PGRAD, gc_acc[p] += gy * dy/dc_p
//   (dy/dc_p = prod_k (x_k or 1 - x_k), the basis weight of p). Returns y.
// Level k of the tree (k = 1..N) holds 2^(N-k) partial lerps at offset 2^N - 2^(N-k+1) of buf.
template <int N, bool PGRAD, typename T>
LGN_HD T lerp_tree_backward(const T* c, const T* x, T gy, T* gx, T* gc_acc) {
    T buf[1 << N];
    LGN_UNROLL
    for (int j = 0; j < (1 << (N - 1)); ++j) buf[j] = c[2 * j] + x[0] * (c[2 * j + 1] - c[2 * j]);
    keep_levels<N, 1>(buf, x);
    const T y = buf[Level<N, N>::OFF];
    buf[Level<N, N>::OFF] = gy;  // adjoint of the root
    back_levels<N, N - 1, PGRAD>(c, buf, x, gx, gc_acc);
    return y;
}

// The original parametrisation: 16 logits mix difflogic's 16 two-input functions. Function f's
// truth table (lgn_hw.gates.TWO_INPUT_TABLES order, bit p = output for A = bit 0, B = bit 1).
LGN_HD unsigned two_input_table(int f) {
    // FALSE AND A&~B A ~A&B B XOR OR NOR XNOR ~B A|~B ~A ~A|B NAND TRUE
    const unsigned packed[16] = {0x0, 0x8, 0x2, 0xA, 0x4, 0xC, 0x6, 0xE,
                                 0x1, 0x9, 0x3, 0xB, 0x5, 0xD, 0x7, 0xF};
    return packed[f];
}

// Coefficients c[4] = softmax(w) @ bits(tables); hard mode: the table of argmax(w) (first maximum).
template <bool HARD, typename T>
LGN_HD void softmax16_coefficients(const T* w, T* c) {
    if (HARD) {
        int best = 0;
        LGN_UNROLL
        for (int f = 1; f < 16; ++f)
            if (w[f] > w[best]) best = f;
        const unsigned t = two_input_table(best);
        LGN_UNROLL
        for (int p = 0; p < 4; ++p) c[p] = (t >> p) & 1u ? T(1) : T(0);
        return;
    }
    T m = w[0];
    LGN_UNROLL
    for (int f = 1; f < 16; ++f) m = w[f] > m ? w[f] : m;
    T e[16];
    T s = T(0);
    LGN_UNROLL
    for (int f = 0; f < 16; ++f) {
        e[f] = fexp(w[f] - m);
        s += e[f];
    }
    LGN_UNROLL
    for (int p = 0; p < 4; ++p) c[p] = T(0);
    LGN_UNROLL
    for (int f = 0; f < 16; ++f) {
        const unsigned t = two_input_table(f);
        LGN_UNROLL
        for (int p = 0; p < 4; ++p)
            if ((t >> p) & 1u) c[p] += e[f];
    }
    const T inv = T(1) / s;
    LGN_UNROLL
    for (int p = 0; p < 4; ++p) c[p] *= inv;
}

// Logit gradient of function f from the batch-reduced coefficient gradient gc[4]:
// u_f = bits_f . gc, gw_f = s_f (u_f - sum_j s_j u_j), s = softmax(w).
template <typename T>
LGN_HD T softmax16_param_grad(const T* w, const T* gc, int f) {
    T m = w[0];
    LGN_UNROLL
    for (int i = 1; i < 16; ++i) m = w[i] > m ? w[i] : m;
    T s = T(0), su = T(0), ef = T(0), uf = T(0);
    LGN_UNROLL
    for (int i = 0; i < 16; ++i) {
        const T e = fexp(w[i] - m);
        const unsigned t = two_input_table(i);
        T u = T(0);
        LGN_UNROLL
        for (int p = 0; p < 4; ++p)
            if ((t >> p) & 1u) u += gc[p];
        s += e;
        su += e * u;
        if (i == f) {
            ef = e;
            uf = u;
        }
    }
    return ef / s * (uf - su / s);
}

}  // namespace lgn
