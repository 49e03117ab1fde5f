// libFuzzer shim for FuzzMIME (see Sources/FuzzTargets). Built with -sanitize=fuzzer, libFuzzer's own
// main drives LLVMFuzzerTestOneInput; in a plain build the weak main below replays input files instead.
#include <stddef.h>
#include <stdint.h>

int sendarix_fuzz_mime(const uint8_t *data, size_t size);
int sendarix_fuzz_replay(int argc, char **argv, int (*entry)(const uint8_t *, size_t));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return sendarix_fuzz_mime(data, size); }

__attribute__((weak)) int main(int argc, char **argv) { return sendarix_fuzz_replay(argc, argv, LLVMFuzzerTestOneInput); }
