using System.Collections.Concurrent;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Scheduling;

/// <summary>
/// An engine for scheduler tests: y = x + 1 over FP32 x. Records each run's rows and first value; a run whose
/// first value has a gate waits on it (cancellable), so tests hold runs open without sleeping.
/// </summary>
internal sealed class FakeInstance : IModelInstance
{
    public ConcurrentQueue<(long Rows, float First)> Runs { get; } = new();

    public ConcurrentDictionary<float, SemaphoreSlim> Gates { get; } = new();

    /// <summary>Released once as each run starts.</summary>
    public SemaphoreSlim Started { get; } = new(0);

    /// <summary>Released once as each run returns or throws.</summary>
    public SemaphoreSlim Finished { get; } = new(0);

    public bool SawCancellation { get; private set; }

    public SemaphoreSlim Gate(float first) => Gates.GetOrAdd(first, _ => new SemaphoreSlim(0));

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
    {
        try
        {
            var x = inputs[0].Tensor;
            var values = x.ToArray<float>();
            Runs.Enqueue((x.Shape[0], values[0]));
            Started.Release();
            if (Gates.TryGetValue(values[0], out var gate))
            {
                try
                {
                    gate.Wait(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    SawCancellation = true;
                    throw;
                }
            }

            for (var i = 0; i < values.Length; i++)
            {
                values[i] += 1;
            }

            return [new NamedTensor("y", Tensor.Create(values, [.. x.Shape]))];
        }
        finally
        {
            Finished.Release();
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>Serves platform "fake" from one <see cref="FakeInstance"/>; the test's config.pbtxt declares inputs and outputs.</summary>
internal sealed class FakeBackend(FakeInstance instance) : IModelBackend
{
    public string Platform => "fake";

    public string DefaultModelFilename => "model.fake";

    public bool Accepts(ModelConfig config) => config.Platform == "fake";

    public ModelConfig DeriveConfig(string name, string modelPath) =>
        throw new NotSupportedException("the test's config.pbtxt declares inputs and outputs");

    public IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken) => instance;
}
