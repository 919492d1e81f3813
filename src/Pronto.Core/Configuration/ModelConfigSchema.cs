namespace Pronto.Core.Configuration;

/// <summary>
/// The field names of Triton's <c>ModelConfig</c> (triton-inference-server/common, protobuf/model_config.proto) for
/// every message Pronto reads, so that a misspelt field fails the load as it does in Triton instead of being
/// ignored (a <c>dynamic_batchng { }</c> that leaves batching off). Fields Triton has and Pronto does not implement
/// (<c>optimization</c>, <c>sequence_batching</c>, <c>model_warmup</c>, ...) are accepted, their insides unchecked.
/// </summary>
internal sealed class ModelConfigSchema
{
    private static readonly ModelConfigSchema TensorReshape = new("ModelTensorReshape", [("shape", null)]);

    private static readonly ModelConfigSchema QueuePolicy = new("ModelQueuePolicy",
    [
        ("timeout_action", null), ("default_timeout_microseconds", null), ("allow_timeout_override", null), ("max_queue_size", null),
    ]);

    /// <summary>The root message, <c>inference.ModelConfig</c>.</summary>
    public static readonly ModelConfigSchema ModelConfig = new("ModelConfig",
    [
        ("name", null), ("platform", null), ("backend", null), ("runtime", null),
        ("version_policy", new("ModelVersionPolicy",
        [
            ("latest", new("ModelVersionPolicy.Latest", [("num_versions", null)])),
            ("all", new("ModelVersionPolicy.All", [])),
            ("specific", new("ModelVersionPolicy.Specific", [("versions", null)])),
        ])),
        ("max_batch_size", null),
        ("input", new("ModelInput",
        [
            ("name", null), ("data_type", null), ("format", null), ("dims", null), ("reshape", TensorReshape),
            ("is_shape_tensor", null), ("allow_ragged_batch", null), ("optional", null), ("is_non_linear_format_io", null),
        ])),
        ("output", new("ModelOutput",
        [
            ("name", null), ("data_type", null), ("dims", null), ("reshape", TensorReshape), ("label_filename", null),
            ("is_shape_tensor", null), ("is_non_linear_format_io", null),
        ])),
        ("batch_input", null), ("batch_output", null), ("optimization", null),
        ("dynamic_batching", new("ModelDynamicBatching",
        [
            ("preferred_batch_size", null), ("max_queue_delay_microseconds", null), ("preserve_ordering", null),
            ("priority_levels", null), ("default_priority_level", null), ("default_queue_policy", QueuePolicy),
            ("priority_queue_policy", new("ModelDynamicBatching.PriorityQueuePolicyEntry", [("key", null), ("value", QueuePolicy)])),
        ])),
        ("sequence_batching", null), ("ensemble_scheduling", null),
        ("instance_group", new("ModelInstanceGroup",
        [
            ("name", null), ("kind", null), ("count", null), ("rate_limiter", null), ("gpus", null),
            ("secondary_devices", null), ("profile", null), ("passive", null), ("host_policy", null),
        ])),
        ("default_model_filename", null), ("cc_model_filenames", null), ("metric_tags", null),
        ("parameters", new("ModelConfig.ParametersEntry",
        [
            ("key", null), ("value", new("ModelParameter", [("string_value", null)])),
        ])),
        ("model_warmup", null), ("model_operations", null), ("model_transaction_policy", null),
        ("model_repository_agents", null), ("response_cache", new("ModelResponseCache", [("enable", null)])), ("model_metrics", null),
    ]);

    private readonly string _name;

    /// <summary>Each field's message schema, or null for a scalar or a message whose inside is not checked.</summary>
    private readonly Dictionary<string, ModelConfigSchema?> _fields;

    private ModelConfigSchema(string name, (string Field, ModelConfigSchema? Message)[] fields)
    {
        _name = name;
        _fields = new Dictionary<string, ModelConfigSchema?>(fields.Length, StringComparer.Ordinal);
        foreach (var (field, message) in fields)
        {
            _fields.Add(field, message);
        }
    }

    /// <summary>Throws InvalidArgument at the first field of <paramref name="fields"/> (or below) that this message does not have.</summary>
    public void Check(IReadOnlyList<TextField> fields)
    {
        foreach (var f in fields)
        {
            if (!_fields.TryGetValue(f.Name, out var message))
            {
                var hint = Closest(f.Name, _fields.Keys) is { } near ? $" (did you mean '{near}'?)" : string.Empty;
                throw TextFormatReader.Error(f.Source, f.Line, f.Column, $"unknown field '{f.Name}' in {_name}{hint}");
            }

            if (message is not null && f.Kind == TextValueKind.Message)
            {
                message.Check(f.Fields);
            }
        }
    }

    /// <summary>The candidate within two edits of <paramref name="name"/>, for "did you mean" hints; null when none is that close.</summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in candidates)
        {
            var d = Distance(name, candidate);
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        return best;
    }

    /// <summary>Levenshtein distance; config names are short, so the quadratic table is fine.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
