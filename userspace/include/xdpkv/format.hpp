// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// C++ entry point to the shared format header (xdp/include/xdpkv/format.h);
// user space gets the compiler's popcount there, whatever the include order.
#pragma once

#include <xdpkv/format.h>
