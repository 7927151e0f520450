// warp_reduce.cuh: reduce-scatter of M per-lane partial sums across a warp of 32 lanes.
//
// Each lane holds v[0..M) (its partial sums of M quantities, e.g. a gate's coefficient gradients
// over the lane's share of the batch). A full butterfly per value costs 5 M shuffles; this
// halving exchange costs M/2 + M/4 + ... (62 shuffles for M = 64 instead of 320): at offset o the
// lane with bit o set keeps the upper half of its values and sends the lower half, its partner
// the opposite, and both add what they receive. Once one value is left, the remaining offsets do
// an ordinary butterfly. Afterwards lane l holds the warp-wide sums of entries
// base(l) .. base(l) + R - 1 (R = max(M / 32, 1)) in v[0..R); lanes with owner(l) write them.
//
// The shuffle is a template argument so that host code can run the same algorithm with 32 threads
// (host_shim.cu) and the CPU tests check it.
#pragma once

#include "lgn_math.cuh"

namespace lgn {

LGN_HD constexpr int ilog2(int m) { return m <= 1 ? 0 : 1 + ilog2(m / 2); }

template <int M>
struct ReduceScatter {
    static constexpr int STEPS = ilog2(M) < 5 ? ilog2(M) : 5;  // halving steps
    static constexpr int R = M >> STEPS;                        // values left per lane

    // First entry index that lane holds after run().
    LGN_HD static int base(int lane) {
        int b = 0;
        LGN_UNROLL
        for (int s = 0; s < STEPS; ++s)
            if (lane & (16 >> s)) b += M >> (s + 1);
        return b;
    }

    // Exactly one lane per entry group writes it: the lanes whose full-butterfly bits are zero.
    LGN_HD static bool owner(int lane) {
        int mask = 0;
        for (int s = STEPS; s < 5; ++s) mask |= 16 >> s;
        return (lane & mask) == 0;
    }

    template <int S, int CUR, class Shfl>
    LGN_HD static void step(float* v, int lane, Shfl& shfl) {
        if constexpr (S < 5) {
            constexpr int o = 16 >> S;
            if constexpr (CUR > 1) {
                constexpr int half = CUR / 2;
                const bool upper = (lane & o) != 0;
                LGN_UNROLL
                for (int j = 0; j < half; ++j) {
                    const float send = upper ? v[j] : v[j + half];
                    const float keep = upper ? v[j + half] : v[j];
                    v[j] = keep + shfl(send, o);
                }
                step<S + 1, half>(v, lane, shfl);
            } else {
                v[0] += shfl(v[0], o);
                step<S + 1, 1>(v, lane, shfl);
            }
        }
    }

    template <class Shfl>
    LGN_HD static void run(float* v, int lane, Shfl& shfl) {
        step<0, M>(v, lane, shfl);
    }
};

}  // namespace lgn
