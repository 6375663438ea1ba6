// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "commands.hpp"

int main(int argc, char** argv) { return xdpkv::cli::run(argc, argv); }
