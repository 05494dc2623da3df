// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* meson's check that clang can link a libFuzzer target (libclang-rt-14-dev). */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return 0;
}
