// glibc malloc spent a quarter of the proxy's CPU under load (arena locks, consolidation of
// Pingora's per-request buffers); mimalloc keeps per-thread heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    portproxy::main(std::env::args_os())
}
