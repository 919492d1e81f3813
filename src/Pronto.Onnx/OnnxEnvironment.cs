using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Pronto.Onnx;

/// <summary>
/// The process-wide ONNX Runtime environment with ONE intra-op thread pool that every session shares,
/// so N loaded models do not start N pools that fight over the same cores (onnxruntime issues 10273, 20599).
/// </summary>
internal static partial class OnnxEnvironment
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

            OptOutOfTelemetry();

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

    /// <summary>The variable ONNX Runtime (1.29 and later, non-Windows) reads once, when its environment is created.</summary>
    public const string TelemetryVariable = "ORT_DISABLE_TELEMETRY";

    /// <summary>
    /// ONNX Runtime's Linux package sends usage telemetry to Microsoft by default since 1.29 (a 1DS uploader, a
    /// device id and an event cache under ~/.cache/Microsoft/DeveloperTools/.onnxruntime). Pronto runs models offline
    /// and privately, so it opts out unless the user set <see cref="TelemetryVariable"/> themselves (to 0 to allow it).
    /// ORT reads the variable with getenv, which does not see Environment.SetEnvironmentVariable on Linux (.NET keeps
    /// its own copy), so it is set in the C library's environment, before the first environment is created.
    /// </summary>
    private static void OptOutOfTelemetry()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable(TelemetryVariable) is not null)
        {
            return;
        }

        Environment.SetEnvironmentVariable(TelemetryVariable, "1");
        _ = NativeEnvironment.SetEnv(TelemetryVariable, "1", overwrite: 0);
    }

    private static partial class NativeEnvironment
    {
        [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int SetEnv(string name, string value, int overwrite);
    }
}
