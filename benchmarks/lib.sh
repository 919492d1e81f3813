# Shared by the benchmark and reliability scripts (source it from the repository root):
#   build_pronto [loadgen] [modelgen]   Release builds of the CLI (and the load generator, the model generator);
#                                       sets cli= and gen= to the dlls to run with dotnet
#   wait_ready PORT                     until the server on PORT answers /v2/health/ready
build_pronto() {
  dotnet build src/Pronto.Cli -c Release -v q -nologo > /dev/null
  local extra
  for extra in "$@"; do
    case $extra in
      loadgen) dotnet build benchmarks/Pronto.LoadGen -c Release -v q -nologo > /dev/null ;;
      modelgen) dotnet build benchmarks/Pronto.ModelGen -c Release -v q -nologo > /dev/null ;;
      *) echo "build_pronto: unknown project '$extra'" >&2; return 2 ;;
    esac
  done
  cli=src/Pronto.Cli/bin/Release/net10.0/linux-x64/pronto.dll
  gen=benchmarks/Pronto.LoadGen/bin/Release/net10.0/linux-x64/Pronto.LoadGen.dll
}

wait_ready() {
  until curl -sf "localhost:$1/v2/health/ready" > /dev/null; do sleep 0.5; done
}
