using Microsoft.ML.OnnxRuntime;

namespace Pronto.Onnx;

/// <summary>
/// The process-wide ONNX Runtime environment with ONE intra-op thread pool that every session shares,
/// so N loaded models do not start N pools that fight over the same cores (onnxruntime issues 10273, 20599).
/// </summary>
internal static class OnnxEnvironment
{
    private static readonly Lock Gate = new();
    private static (int Intra, int Inter, bool Spin, bool Shared)? _created;

    /// <summary>
    /// Creates the environment on first use with these pool sizes. ORT allows one environment per process,
    /// so later callers get the pools the first one made; the return value says which sizes are in force.
    /// <c>Shared</c> is false when something else in the process created ORT's environment first, without
    /// global pools: sessions then need their own pools, sized to the same thread count.
    /// </summary>
    public static (int IntraOpThreads, int InterOpThreads, bool Spinning, bool Shared) Ensure(OnnxBackendOptions options)
    {
        lock (Gate)
        {
            if (_created is { } existing)
            {
                return existing;
            }

            // Environment.ProcessorCount honours the affinity mask and container CPU limits, not the host's core count.
            var intra = options.IntraOpThreads > 0 ? options.IntraOpThreads : Environment.ProcessorCount;
            if (OrtEnv.IsCreated)
            {
                _created = (intra, options.InterOpThreads, options.AllowSpinning, false);
                return _created.Value;
            }

            var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = intra,
                GlobalInterOpNumThreads = options.InterOpThreads,
                GlobalSpinControl = options.AllowSpinning,
            };
            var creation = new EnvironmentCreationOptions
            {
                logId = "pronto",
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                threadOptions = threading,
            };
            OrtEnv.CreateInstanceWithOptions(ref creation);
            _created = (intra, options.InterOpThreads, options.AllowSpinning, true);
            return _created.Value;
        }
    }
}
