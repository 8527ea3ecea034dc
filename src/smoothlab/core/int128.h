// A 128-bit unsigned integer for exact products of 64-bit counts (GCC and Clang's __int128, marked as the extension
// it is so that -Wpedantic stays quiet).
#pragma once

namespace smoothlab {

__extension__ typedef unsigned __int128 uint128;

} // namespace smoothlab
