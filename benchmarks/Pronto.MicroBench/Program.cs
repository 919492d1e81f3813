using BenchmarkDotNet.Running;
using Pronto.Models;

// The tokenization and minilm batch benchmarks read the bundled minilm folder. It is prepared here, in the host
// process, whose output holds the model packages' files; the processes BenchmarkDotNet starts only read it.
BundledRepository.Ensure(ZooPaths.DefaultRepository(), Console.WriteLine);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
