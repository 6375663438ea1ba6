// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// C++ entry point to the shared format header (xdp/include/xdpkv/format.h),
// with the hardware popcount instead of the SWAR fallback.
#pragma once

#ifndef XDPKV_POPCOUNT64
#define XDPKV_POPCOUNT64(v) ((__u64)__builtin_popcountll(v))
#endif
#include <xdpkv/format.h>
