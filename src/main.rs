fn main() -> std::process::ExitCode {
    portproxy::run(std::env::args_os())
}
