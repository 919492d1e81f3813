# Shared by the benchmark and reliability scripts (source it from the repository root):
#   build_pronto [loadgen] [modelgen] [rawbench]
#                                       Release builds of the CLI (and the load generator, the model generator, the raw
#                                       ORT bench); sets cli=, gen=, modelgen= and raw= to the dlls to run with dotnet
#   wait_ready PORT                     until the server on PORT answers /v2/health/ready
#   bundled_zoo                         sets zoo= to the bundled model repository (PRONTO_MODEL_REPOSITORY, else the
#                                       cache's models-v7), preparing it on first use with $cli
#   free_port                           prints a TCP port nobody listens on now (other servers share the machine)
build_pronto() {
  dotnet build src/Pronto.Cli -c Release -v q -nologo > /dev/null
  local extra
  for extra in "$@"; do
    case $extra in
      loadgen) dotnet build benchmarks/Pronto.LoadGen -c Release -v q -nologo > /dev/null ;;
      modelgen) dotnet build benchmarks/Pronto.ModelGen -c Release -v q -nologo > /dev/null ;;
      rawbench) dotnet build benchmarks/Pronto.RawBench -c Release -v q -nologo > /dev/null ;;
      *) echo "build_pronto: unknown project '$extra'" >&2; return 2 ;;
    esac
  done
  cli=src/Pronto.Cli/bin/Release/net10.0/linux-x64/pronto.dll
  gen=benchmarks/Pronto.LoadGen/bin/Release/net10.0/linux-x64/Pronto.LoadGen.dll
  modelgen=benchmarks/Pronto.ModelGen/bin/Release/net10.0/linux-x64/Pronto.ModelGen.dll
  raw=benchmarks/Pronto.RawBench/bin/Release/net10.0/linux-x64/Pronto.RawBench.dll
}

wait_ready() {
  until curl -sf "localhost:$1/v2/health/ready" > /dev/null; do sleep 0.5; done
}

bundled_zoo() {
  zoo=${PRONTO_MODEL_REPOSITORY:-${XDG_CACHE_HOME:-$HOME/.cache}/pronto/models-v7}
  [[ -d $zoo/resnet18 ]] || dotnet "$cli" models list > /dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
