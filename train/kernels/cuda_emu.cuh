// cuda_emu.cuh: just enough of CUDA's execution model, on the host, to run layer_kernels.cu itself
// on the CPU (train/kernels/emulate.py prepends this header and compiles the kernels with g++).
//
// A launch runs its blocks one after another; each block runs blockDim.x std::threads, one per
// CUDA thread, with thread-local threadIdx/blockIdx. __shared__ variables become function-local
// statics: only one block runs at a time and a barrier ends each block, so they behave as one
// block's shared memory. Each warp of 32 threads has a std::barrier: __syncwarp() waits on it and
// __shfl_xor_sync exchanges through per-thread slots between two waits. This is a checking tool
// (slow: one OS thread per CUDA thread), not a fast path; it needs every warp to leave a kernel
// together, as the kernels here do.
#pragma once

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

namespace lgn_emu {

struct BlockContext {
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<float> slots;
};

inline thread_local dim3 thread_idx, block_idx;
inline thread_local dim3 block_dim, grid_dim;
inline thread_local BlockContext* context = nullptr;

inline std::barrier<>& warp_barrier() {
    return *context->warps[thread_idx.x >> 5];
}

// Runs body() as grid x block CUDA threads; returns 0, or -1 for a block size the emulation
// cannot run (not a positive multiple of 32, or more than 1024 threads).
template <class Body>
int launch(dim3 grid, dim3 block, Body body) {
    const unsigned nt = block.x * block.y * block.z;
    if (block.y != 1 || block.z != 1 || nt == 0 || nt % 32 || nt > 1024) return -1;
    BlockContext ctx;
    for (unsigned w = 0; w < nt / 32; ++w) ctx.warps.emplace_back(std::make_unique<std::barrier<>>(32));
    ctx.slots.assign(nt, 0.f);
    std::barrier<> block_end((std::ptrdiff_t)nt);
    std::vector<std::thread> threads;
    threads.reserve(nt);
    for (unsigned t = 0; t < nt; ++t) {
        threads.emplace_back([&, t] {
            thread_idx = dim3{t, 0, 0};
            block_dim = block;
            grid_dim = grid;
            context = &ctx;
            for (unsigned z = 0; z < grid.z; ++z)
                for (unsigned y = 0; y < grid.y; ++y)
                    for (unsigned x = 0; x < grid.x; ++x) {
                        block_idx = dim3{x, y, z};
                        body();
                        block_end.arrive_and_wait();
                    }
        });
    }
    for (auto& th : threads) th.join();
    return 0;
}

}  // namespace lgn_emu

#define threadIdx (lgn_emu::thread_idx)
#define blockIdx (lgn_emu::block_idx)
#define blockDim (lgn_emu::block_dim)
#define gridDim (lgn_emu::grid_dim)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

template <class T>
inline T __ldg(const T* p) {
    return *p;
}

using std::max;
using std::min;

inline void __syncwarp(unsigned = 0xffffffffu) {
    lgn_emu::warp_barrier().arrive_and_wait();
}

inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
    const unsigned t = threadIdx.x;
    auto& slots = lgn_emu::context->slots;
    slots[t] = v;
    lgn_emu::warp_barrier().arrive_and_wait();
    const float r = slots[(t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask)];
    lgn_emu::warp_barrier().arrive_and_wait();
    return r;
}

// Calls kernel f with its arguments read from args[i] (pointers to the values, as cuLaunchKernel
// takes them), once per emulated CUDA thread.
template <class... A, std::size_t... I>
int lgn_emu_run(void (*f)(A...), dim3 grid, dim3 block, void** args, std::index_sequence<I...>) {
    return lgn_emu::launch(grid, block, [&] { f(*static_cast<std::remove_cv_t<A>*>(args[I])...); });
}

template <class... A>
int lgn_emu_run(void (*f)(A...), dim3 grid, dim3 block, void** args) {
    return lgn_emu_run(f, grid, block, args, std::index_sequence_for<A...>{});
}

// The argument kinds of a kernel, one letter each: 'p' pointer, 'i' int (what the launcher must
// pass; anything else is '?'), so the Python side can refuse a launch with wrong arguments.
template <class A>
constexpr char lgn_emu_kind() {
    return std::is_pointer_v<A> ? 'p' : (std::is_same_v<std::remove_cv_t<A>, int> ? 'i' : '?');
}

template <class... A>
const char* lgn_emu_signature(void (*)(A...)) {
    static const char kinds[] = {lgn_emu_kind<A>()..., '\0'};
    return kinds;
}
