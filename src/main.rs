fn main() {
    std::process::exit(manage::run());
}
