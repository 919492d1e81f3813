using Pronto.Core.Tensors;

namespace Pronto.Core.Configuration;

/// <summary>
/// The subset of Triton's model configuration (<c>config.pbtxt</c>) that Pronto uses, with Triton's names,
/// so an existing Triton repository of ONNX models works unchanged.
/// </summary>
public sealed class ModelConfig
{
    public const string OnnxPlatform = "onnxruntime_onnx";

    /// <summary>A decoder in ONNX Runtime GenAI's folder layout (genai_config.json), run by Pronto's decode loop on the ONNX backend.</summary>
    public const string GenaiPlatform = "onnxruntime_genai";

    public required string Name { get; set; }

    /// <summary><c>onnxruntime_onnx</c> for ONNX models.</summary>
    public string Platform { get; set; } = OnnxPlatform;

    /// <summary>Triton's newer spelling of the platform: <c>onnxruntime</c>.</summary>
    public string? Backend { get; set; }

    /// <summary>
    /// 0: the model has no batch dimension and <see cref="TensorConfig.Dims"/> are the full shapes.
    /// &gt; 0: every input and output has a leading batch dimension not listed in dims, up to this size.
    /// </summary>
    public int MaxBatchSize { get; set; }

    public List<TensorConfig> Inputs { get; init; } = [];

    public List<TensorConfig> Outputs { get; init; } = [];

    public VersionPolicy VersionPolicy { get; set; } = VersionPolicy.Latest(1);

    public List<InstanceGroup> InstanceGroups { get; init; } = [];

    public DynamicBatchingConfig? DynamicBatching { get; set; }

    /// <summary>
    /// Triton's <c>response_cache { enable: true }</c>: identical requests are answered from the server's response cache
    /// (bounded by <c>--response-cache-bytes</c>) instead of running the model again. Off unless the config asks.
    /// </summary>
    public bool ResponseCache { get; set; }

    /// <summary>The model file's name inside a version folder; <c>model.onnx</c> when unset.</summary>
    public string? DefaultModelFilename { get; set; }

    /// <summary>Free-form string parameters (<c>parameters { key: .. value { string_value: .. } }</c>); Pronto's own start with <c>pronto.</c>.</summary>
    public Dictionary<string, string> Parameters { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Triton's <c>model_warmup</c> samples: each must run before the model is READY.</summary>
    public List<ModelWarmup> ModelWarmup { get; init; } = [];

    /// <summary>Parameter naming the rows per engine run for offline work (<see cref="PreferredRunSize"/>).</summary>
    public const string RunSizeKey = ProntoParameters.BatchRunSize;

    /// <summary>
    /// Rows per engine run for offline work (SQL chunks, batch jobs): the <c>pronto.batch.run_size</c> parameter when
    /// it is a size from 1 to <see cref="MaxBatchSize"/> (offline work runs one single-threaded batch per core, where
    /// smaller batches can do better than under serving's one multi-threaded run), else the largest
    /// <c>preferred_batch_size</c> up to <see cref="MaxBatchSize"/> when dynamic batching declares one (the size the
    /// model runs best at, which need not be the largest it accepts), else <see cref="MaxBatchSize"/>; 0 when the
    /// model does not batch.
    /// </summary>
    public int PreferredRunSize
    {
        get
        {
            if (MaxBatchSize > 0 && Parameters.TryGetValue(RunSizeKey, out var text)
                && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var runSize)
                && runSize >= 1 && runSize <= MaxBatchSize)
            {
                return runSize;
            }

            var best = 0;
            if (DynamicBatching is { } batching)
            {
                foreach (var size in batching.PreferredBatchSize)
                {
                    if (size <= MaxBatchSize && size > best)
                    {
                        best = size;
                    }
                }
            }

            return best > 0 ? best : MaxBatchSize;
        }
    }

    /// <summary>Number of model instances asked for: the sum of the instance groups' counts, 1 if none.</summary>
    public int InstanceCount
    {
        get
        {
            var total = 0;
            foreach (var g in InstanceGroups)
            {
                total += g.Count;
            }

            return total > 0 ? total : 1;
        }
    }
}

/// <summary>An input or output of a model config.</summary>
public sealed class TensorConfig
{
    public required string Name { get; set; }

    public DataType DataType { get; set; }

    /// <summary>Dimensions without the batch dimension when max_batch_size &gt; 0; -1 marks a variable size.</summary>
    public long[] Dims { get; set; } = [];

    /// <summary>For outputs: a file beside config.pbtxt with one class label per line.</summary>
    public string? LabelFilename { get; set; }

    /// <summary>Dims as given by <c>reshape { shape: [...] }</c>, if any.</summary>
    public long[]? Reshape { get; set; }

    public bool Optional { get; set; }
}

/// <summary>Which versions of a model are served.</summary>
public sealed record VersionPolicy(VersionPolicyKind Kind, int LatestCount, IReadOnlyList<long> Versions)
{
    public static VersionPolicy Latest(int count) => new(VersionPolicyKind.Latest, count, []);

    public static VersionPolicy All { get; } = new(VersionPolicyKind.All, 0, []);

    public static VersionPolicy Specific(params long[] versions) => new(VersionPolicyKind.Specific, 0, versions);

    /// <summary>The versions, among those present, that this policy serves.</summary>
    public IReadOnlyList<long> Select(IEnumerable<long> present)
    {
        var sorted = present.Distinct().Order().ToList();
        return Kind switch
        {
            VersionPolicyKind.All => sorted,
            VersionPolicyKind.Specific => sorted.Where(Versions.Contains).ToList(),
            _ => sorted.Skip(Math.Max(0, sorted.Count - Math.Max(1, LatestCount))).ToList(),
        };
    }
}

public enum VersionPolicyKind
{
    Latest,
    All,
    Specific,
}

/// <summary><c>instance_group { count: 2 kind: KIND_CPU }</c>.</summary>
public sealed record InstanceGroup(int Count, string Kind = "KIND_CPU");

/// <summary>Triton's <c>dynamic_batching { ... }</c> block.</summary>
public sealed class DynamicBatchingConfig
{
    public List<int> PreferredBatchSize { get; init; } = [];

    public long MaxQueueDelayMicroseconds { get; set; }

    public bool PreserveOrdering { get; set; }

    public int PriorityLevels { get; set; }

    public int DefaultPriorityLevel { get; set; }

    public QueuePolicy DefaultQueuePolicy { get; set; } = new();
}

/// <summary>Triton's <c>default_queue_policy { ... }</c>.</summary>
public sealed class QueuePolicy
{
    public TimeoutAction TimeoutAction { get; set; } = TimeoutAction.Reject;

    public long DefaultTimeoutMicroseconds { get; set; }

    public bool AllowTimeoutOverride { get; set; }

    /// <summary>0: unbounded (Pronto still bounds memory by its own limits).</summary>
    public int MaxQueueSize { get; set; }
}

public enum TimeoutAction
{
    Reject,
    Delay,
}
