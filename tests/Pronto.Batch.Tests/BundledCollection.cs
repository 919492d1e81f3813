using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Batch.Tests;

[CollectionDefinition(Name)]
public sealed class BundledCollection : ICollectionFixture<BatchRepositoryFixture>
{
    public const string Name = "bundled repository";
}

/// <summary>
/// The bundled repository with ONNX Runtime threaded as <c>pronto batch</c> threads it: one intra-op thread per
/// run. The pool is per process, so jobs run in-process (the library, the CLI in-process) and the CLI in a child
/// process compute the same floats, and a part written by either equals the other's byte for byte.
/// </summary>
public sealed class BatchRepositoryFixture() : BundledRepositoryFixture(new OnnxBackendOptions { IntraOpThreads = 1 });
