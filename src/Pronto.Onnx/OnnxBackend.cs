using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Onnx;

/// <summary>The ONNX Runtime backend for <c>onnxruntime_onnx</c> models.</summary>
public sealed partial class OnnxBackend : IModelBackend, Pronto.Core.Generation.IJinjaChatTemplates
{
    private readonly OnnxBackendOptions _options;
    private readonly ILogger _logger;
    private readonly bool _useCuda;
    private readonly bool _sharedPools;

    public OnnxBackend(OnnxBackendOptions? options = null, ILogger<OnnxBackend>? logger = null)
    {
        _options = options ?? new OnnxBackendOptions();
        _options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var pools = OnnxEnvironment.Ensure(_options);
        IntraOpThreads = pools.IntraOpThreads;
        _sharedPools = pools.Shared;
        if (!_sharedPools)
        {
            LogNoSharedPool(_logger, IntraOpThreads);
        }
        _useCuda = _options.ExecutionProvider == "cuda" && CudaAvailable();
    }

    public string Platform => ModelConfig.OnnxPlatform;

    public string DefaultModelFilename => "model.onnx";

    /// <summary>A generative model's Jinja chat template, rendered by ONNX Runtime GenAI (the environment is Pronto's: created above, first).</summary>
    public Pronto.Core.Generation.IChatTemplateRenderer LoadChatTemplate(string tokenizerJson, string? tokenizerConfigJson, string template) =>
        GenaiChatTemplate.Load(tokenizerJson, tokenizerConfigJson, template);

    /// <summary>Threads of the shared intra-op pool in force.</summary>
    public int IntraOpThreads { get; }

    /// <summary><c>CUDAExecutionProvider</c> or <c>CPUExecutionProvider</c>: where sessions run.</summary>
    public string ExecutionProviderInUse => _useCuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";

    public bool Accepts(ModelConfig config) =>
        config.Platform is ModelConfig.OnnxPlatform or ModelConfig.GenaiPlatform || config.Backend is "onnxruntime";

    public ModelConfig DeriveConfig(string name, string modelPath)
    {
        using var options = CreateSessionOptions(forInspection: true);
        using var session = OpenSession(modelPath, options);
        return DeriveConfig(name, session, _options.DerivedMaxBatchSize);
    }

    public IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var options = CreateSessionOptions(forInspection: false, SessionThreads(config));
        InferenceSession? session = null;
        try
        {
            var opening = System.Diagnostics.Stopwatch.GetTimestamp();
            session = OpenSession(modelPath, options);
            CheckConfigAgainstModel(config, session);
            var instance = new OnnxModelInstance(session, options, config) { SessionCreation = System.Diagnostics.Stopwatch.GetElapsedTime(opening) };
            session = null;
            options = null;

            // Samples the config gives (model_warmup) replace the implicit warm-up; the repository runs them. A decoder's
            // zero-filled inputs disagree on lengths (the mask spans past + new tokens), so generative models skip it.
            if (config.ModelWarmup.Count == 0 && !Pronto.Core.Generation.GenerativeModel.IsGenerative(config))
            {
                try
                {
                    WarmUp(instance, config, cancellationToken);
                }
                catch
                {
                    // Cancelled: the instance is nobody's yet.
                    instance.Dispose();
                    throw;
                }
            }

            // Building the session (parsing, graph optimisation) frees far more than the session keeps.
            NativeHeap.Trim();
            return instance;
        }
        finally
        {
            session?.Dispose();
            options?.Dispose();
        }
    }

    /// <summary>
    /// The implicit warm-up: zero-filled inputs are not valid for every model (Resize scales of 0, a Reshape to a
    /// shape of zeros, Mod by zero), so a failure is only a warning and the model stays READY, as in Triton, whose
    /// only warm-up is the config's model_warmup samples. The first request then pays for lazy initialisation.
    /// </summary>
    private void WarmUp(OnnxModelInstance instance, ModelConfig config, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _options.WarmupRuns; i++)
        {
            try
            {
                instance.WarmUp(cancellationToken);
            }
            catch (ProntoException e)
            {
                LogImplicitWarmupFailed(_logger, config.Name, e.Message);
                return;
            }
        }
    }

    internal static ModelConfig DeriveConfig(string name, InferenceSession session, int derivedMaxBatchSize)
    {
        var inputs = Describe(session.InputMetadata);
        var outputs = Describe(session.OutputMetadata);

        // A dynamic leading axis on every input and output is taken as the batch dimension (Triton's auto-complete does the same).
        var batched = inputs.Count > 0 && inputs.Concat(outputs).All(t => t.Dims.Length > 0 && t.Dims[0] == -1);
        if (batched)
        {
            foreach (var t in inputs.Concat(outputs))
            {
                t.Dims = t.Dims[1..];
            }
        }

        var config = new ModelConfig { Name = name, Platform = ModelConfig.OnnxPlatform, MaxBatchSize = batched ? derivedMaxBatchSize : 0 };
        config.Inputs.AddRange(inputs);
        config.Outputs.AddRange(outputs);
        return config;
    }

    private static List<TensorConfig> Describe(IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        var list = new List<TensorConfig>(metadata.Count);
        foreach (var (name, node) in metadata)
        {
            if (!node.IsTensor)
            {
                ProntoErrors.Unsupported($"'{name}' is a {node.OnnxValueType} value; Pronto serves tensor inputs and outputs only");
            }

            var type = OnnxTypes.ToDataType(node.ElementDataType);
            if (type == DataType.Invalid)
            {
                ProntoErrors.Unsupported($"'{name}' has element type {node.ElementDataType}, which has no protocol datatype");
            }

            list.Add(new TensorConfig { Name = name, DataType = type, Dims = [.. node.Dimensions.Select(d => (long)d)] });
        }

        return list;
    }

    private static void CheckConfigAgainstModel(ModelConfig config, InferenceSession session)
    {
        Check("input", config.Inputs, session.InputMetadata);
        Check("output", config.Outputs, session.OutputMetadata);

        void Check(string kind, List<TensorConfig> declared, IReadOnlyDictionary<string, NodeMetadata> actual)
        {
            foreach (var t in declared)
            {
                if (!actual.TryGetValue(t.Name, out var node))
                {
                    ProntoErrors.InvalidArgument(
                        $"config.pbtxt declares {kind} '{t.Name}', which the model does not have (its {kind}s: {string.Join(", ", actual.Keys)})");
                }

                var type = OnnxTypes.ToDataType(node.ElementDataType);
                if (type != t.DataType)
                {
                    ProntoErrors.InvalidArgument(
                        $"config.pbtxt declares {kind} '{t.Name}' as {t.DataType.ToConfigName()}, but the model's is {type.ToConfigName()}");
                }

                var modelRank = node.Dimensions.Length;
                var configRank = (t.Reshape ?? t.Dims).Length + (config.MaxBatchSize > 0 ? 1 : 0);
                if (t.Reshape is null && modelRank != configRank)
                {
                    ProntoErrors.InvalidArgument(
                        $"config.pbtxt gives {kind} '{t.Name}' rank {configRank} (max_batch_size {config.MaxBatchSize}, dims [{string.Join(",", t.Dims)}]), but the model's rank is {modelRank} [{string.Join(",", node.Dimensions)}]");
                }
            }

            if (kind == "input")
            {
                foreach (var name in actual.Keys)
                {
                    if (!declared.Exists(t => t.Name == name))
                    {
                        ProntoErrors.InvalidArgument($"the model has input '{name}', which config.pbtxt does not declare");
                    }
                }
            }
        }
    }

    /// <summary>Triton's ONNX Runtime backend parameter: the intra-op threads of the model's own session pool.</summary>
    public const string IntraOpThreadCountKey = "intra_op_thread_count";

    /// <summary>
    /// config.pbtxt's <c>intra_op_thread_count</c> (as Triton's ONNX Runtime backend reads it): 0 or absent, the shared
    /// pool; N, a pool of the session's own with N threads (1: every run on its caller's thread alone, no pool). A
    /// small model run from several threads at once (a generative model's engines, instance_group) gains more from one
    /// thread per run than from a shared pool whose threads wait on each other between operators.
    /// </summary>
    private static int SessionThreads(ModelConfig config)
    {
        if (!config.Parameters.TryGetValue(IntraOpThreadCountKey, out var text))
        {
            return 0;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var threads))
        {
            ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{IntraOpThreadCountKey}' must be 0 (the shared pool) or a positive number of threads, got '{text}'");
        }

        return threads;
    }

    private SessionOptions CreateSessionOptions(bool forInspection, int ownThreads = 0)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = forInspection ? GraphOptimizationLevel.ORT_DISABLE_ALL : _options.GraphOptimizationLevel switch
            {
                "disabled" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };

        // Sessions use the environment's shared pools instead of starting their own, unless the model asks for its own.
        if (_sharedPools && ownThreads == 0)
        {
            options.DisablePerSessionThreads();
        }
        else
        {
            options.IntraOpNumThreads = ownThreads > 0 ? ownThreads : IntraOpThreads;
            options.InterOpNumThreads = _options.InterOpThreads;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", _options.AllowSpinning ? "1" : "0");
        }
        if (_useCuda && !forInspection)
        {
            options.AppendExecutionProvider_CUDA(_options.CudaDeviceId);
        }

        return options;
    }

    private static InferenceSession OpenSession(string modelPath, SessionOptions options)
    {
        if (!File.Exists(modelPath))
        {
            ProntoErrors.NotFound($"model file '{modelPath}' does not exist");
        }

        try
        {
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ProntoException(ErrorCode.InvalidArgument, $"ONNX Runtime cannot load '{Path.GetFileName(modelPath)}': {e.Message}", e);
        }
    }

    private bool CudaAvailable()
    {
        var providers = OrtEnv.Instance().GetAvailableProviders();
        if (!providers.Contains("CUDAExecutionProvider"))
        {
            LogCudaMissing(_logger, string.Join(", ", providers));
            return false;
        }

        try
        {
            using var probe = new SessionOptions();
            probe.AppendExecutionProvider_CUDA(_options.CudaDeviceId);
            return true;
        }
        catch (OnnxRuntimeException e)
        {
            LogCudaUnusable(_logger, _options.CudaDeviceId, e.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "CUDA was asked for, but this ONNX Runtime build has no CUDA execution provider (it has: {Providers}); build with -p:ProntoGpu=true for the GPU package. Running on CPU.")]
    private static partial void LogCudaMissing(ILogger logger, string providers);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "ONNX Runtime's environment was created before Pronto's backend, without shared thread pools; each session gets its own pool of {Threads} threads.")]
    private static partial void LogNoSharedPool(ILogger logger, int threads);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "Model {Model}: the implicit zero-filled warm-up failed ({Reason}); the model is READY and its first request pays for lazy initialisation. Give config.pbtxt model_warmup samples with valid inputs to warm it up.")]
    private static partial void LogImplicitWarmupFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "CUDA was asked for, but device {Device} cannot be used ({Reason}). Running on CPU.")]
    private static partial void LogCudaUnusable(ILogger logger, int device, string reason);
}
