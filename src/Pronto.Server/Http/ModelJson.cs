using System.Text.Json;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;

namespace Pronto.Server.Http;

/// <summary>JSON bodies of the protocol's metadata, config, statistics and repository-index responses.</summary>
internal static class ModelJson
{
    public static void WriteServerMetadata(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, "pronto"u8);
        w.WriteString("version"u8, ServerInfo.Version);
        w.WriteStartArray("extensions"u8);
        foreach (var extension in ServerInfo.Extensions)
        {
            w.WriteStringValue(extension);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// <c>{"name","versions","platform","inputs":[{"name","datatype","shape"}],"outputs":[...]}</c> from the model's
    /// <see cref="ModelSignature"/>: processing tensors first, then the engine's; shapes carry the batch dimension as -1.
    /// </summary>
    public static void WriteModelMetadata(Utf8JsonWriter w, ServedModel model, IReadOnlyList<ModelVersionStatus> versions)
    {
        var config = model.Config;
        w.WriteStartObject();
        w.WriteString("name"u8, model.Name);
        w.WriteStartArray("versions"u8);
        foreach (var v in versions)
        {
            if (v.State == ModelState.Ready && v.Version is { } number)
            {
                w.WriteStringValue(number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        w.WriteEndArray();
        w.WriteString("platform"u8, config.Platform);
        WriteTensors(w, "inputs"u8, model.Signature.Inputs);
        WriteTensors(w, "outputs"u8, model.Signature.Outputs);
        w.WriteEndObject();
    }

    /// <summary>The model config in Triton's JSON form (protobuf field names).</summary>
    public static void WriteConfig(Utf8JsonWriter w, ModelConfig config)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, config.Name);
        w.WriteString("platform"u8, config.Platform);
        w.WriteString("backend"u8, config.Backend ?? "onnxruntime");
        w.WriteNumber("max_batch_size"u8, config.MaxBatchSize);
        WriteConfigTensors(w, "input"u8, config.Inputs);
        WriteConfigTensors(w, "output"u8, config.Outputs);
        w.WriteStartObject("version_policy"u8);
        switch (config.VersionPolicy.Kind)
        {
            case VersionPolicyKind.All:
                w.WriteStartObject("all"u8);
                w.WriteEndObject();
                break;
            case VersionPolicyKind.Specific:
                w.WriteStartObject("specific"u8);
                w.WriteStartArray("versions"u8);
                foreach (var v in config.VersionPolicy.Versions)
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
                w.WriteEndObject();
                break;
            default:
                w.WriteStartObject("latest"u8);
                w.WriteNumber("num_versions"u8, Math.Max(1, config.VersionPolicy.LatestCount));
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
        w.WriteStartArray("instance_group"u8);
        foreach (var g in config.InstanceGroups.Count > 0 ? config.InstanceGroups : [new InstanceGroup(1)])
        {
            w.WriteStartObject();
            w.WriteNumber("count"u8, g.Count);
            w.WriteString("kind"u8, g.Kind);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (config.DynamicBatching is { } batching)
        {
            w.WriteStartObject("dynamic_batching"u8);
            w.WriteStartArray("preferred_batch_size"u8);
            foreach (var size in batching.PreferredBatchSize)
            {
                w.WriteNumberValue(size);
            }

            w.WriteEndArray();
            w.WriteNumber("max_queue_delay_microseconds"u8, batching.MaxQueueDelayMicroseconds);
            w.WriteBoolean("preserve_ordering"u8, batching.PreserveOrdering);
            w.WriteNumber("priority_levels"u8, batching.PriorityLevels);
            w.WriteNumber("default_priority_level"u8, batching.DefaultPriorityLevel);
            w.WriteStartObject("default_queue_policy"u8);
            w.WriteString("timeout_action"u8, batching.DefaultQueuePolicy.TimeoutAction == TimeoutAction.Delay ? "DELAY" : "REJECT");
            w.WriteNumber("default_timeout_microseconds"u8, batching.DefaultQueuePolicy.DefaultTimeoutMicroseconds);
            w.WriteBoolean("allow_timeout_override"u8, batching.DefaultQueuePolicy.AllowTimeoutOverride);
            w.WriteNumber("max_queue_size"u8, batching.DefaultQueuePolicy.MaxQueueSize);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (config.ResponseCache)
        {
            w.WriteStartObject("response_cache"u8);
            w.WriteBoolean("enable"u8, true);
            w.WriteEndObject();
        }

        w.WriteStartObject("parameters"u8);
        foreach (var (key, value) in config.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(key);
            w.WriteString("string_value"u8, value);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        WriteWarmup(w, config.ModelWarmup);
        w.WriteEndObject();
    }

    /// <summary><c>"model_warmup":[{"name","batch_size","inputs":{"x":{"data_type","dims","zero_data"|"random_data"|"input_data_file"}},"count"}]</c>.</summary>
    private static void WriteWarmup(Utf8JsonWriter w, List<ModelWarmup> samples)
    {
        w.WriteStartArray("model_warmup"u8);
        foreach (var sample in samples)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, sample.Name);
            w.WriteNumber("batch_size"u8, sample.BatchSize);
            w.WriteStartObject("inputs"u8);
            foreach (var input in sample.Inputs)
            {
                w.WriteStartObject(input.Name);
                w.WriteString("data_type"u8, input.DataType.ToConfigName());
                w.WriteStartArray("dims"u8);
                foreach (var d in input.Dims)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                switch (input.Data)
                {
                    case WarmupData.Random:
                        w.WriteBoolean("random_data"u8, true);
                        break;
                    case WarmupData.File:
                        w.WriteString("input_data_file"u8, input.InputDataFile);
                        break;
                    default:
                        w.WriteBoolean("zero_data"u8, true);
                        break;
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteNumber("count"u8, sample.Count);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>
    /// Triton's statistics response: <c>{"model_stats":[{"name","version","last_inference","inference_count","execution_count","inference_stats":{...}}]}</c>,
    /// plus Pronto's cost of the load: <c>cost_cpu_seconds</c>, <c>cost_cpu_seconds_per_1000_inferences</c> and, with a
    /// price per CPU hour above 0, <c>cost</c>.
    /// </summary>
    public static void WriteStatistics(Utf8JsonWriter w, IEnumerable<ServedModel> models, double pricePerCpuHour)
    {
        w.WriteStartObject();
        w.WriteStartArray("model_stats"u8);
        foreach (var model in models)
        {
            var s = model.Statistics.Snapshot();
            w.WriteStartObject();
            w.WriteString("name"u8, model.Name);
            w.WriteString("version"u8, model.VersionText);
            w.WriteNumber("last_inference"u8, s.LastInferenceMs);
            w.WriteNumber("inference_count"u8, s.InferenceCount);
            w.WriteNumber("execution_count"u8, s.ExecutionCount);
            w.WriteNumber("cost_cpu_seconds"u8, s.CostCpuSeconds);
            w.WriteNumber("cost_cpu_seconds_per_1000_inferences"u8, s.CostCpuSecondsPer1000Inferences);
            if (pricePerCpuHour > 0)
            {
                w.WriteNumber("cost"u8, s.CostCpuSeconds * pricePerCpuHour / 3600);
            }

            w.WriteStartObject("inference_stats"u8);
            Duration(w, "success"u8, s.Success);
            Duration(w, "fail"u8, s.Fail);
            Duration(w, "queue"u8, s.Queue);
            Duration(w, "compute_input"u8, s.ComputeInput);
            Duration(w, "compute_infer"u8, s.ComputeInfer);
            Duration(w, "compute_output"u8, s.ComputeOutput);
            Duration(w, "cache_hit"u8, s.CacheHit);
            Duration(w, "cache_miss"u8, s.CacheMiss);
            w.WriteEndObject();
            w.WriteStartArray("batch_stats"u8);
            foreach (var b in model.Statistics.BatchStatistics())
            {
                w.WriteStartObject();
                w.WriteNumber("batch_size"u8, b.BatchSize);
                Duration(w, "compute_input"u8, b.ComputeInput);
                Duration(w, "compute_infer"u8, b.ComputeInfer);
                Duration(w, "compute_output"u8, b.ComputeOutput);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The repository index: <c>[{"name","version","state","reason"}]</c>, and <c>resident_bytes</c> and <c>last_used</c> for a loaded version.</summary>
    public static void WriteIndex(Utf8JsonWriter w, IEnumerable<ModelVersionStatus> rows)
    {
        w.WriteStartArray();
        foreach (var row in rows)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, row.Name);
            if (row.Version is { } v)
            {
                w.WriteString("version"u8, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            w.WriteString("state"u8, row.State.ToProtocolName());
            w.WriteString("reason"u8, row.Reason);
            if (row.ResidentBytes is { } resident)
            {
                w.WriteNumber("resident_bytes"u8, resident);
            }

            if (row.LastUsed is { } used)
            {
                w.WriteString("last_used"u8, used.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void Duration(Utf8JsonWriter w, ReadOnlySpan<byte> name, DurationStatistic d)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count"u8, d.Count);
        w.WriteNumber("ns"u8, d.Ns);
        w.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<TensorSignature> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, t.Name);
            w.WriteString("datatype"u8, t.DataType.ToProtocolName());
            w.WriteStartArray("shape"u8);
            foreach (var d in t.Shape)
            {
                w.WriteNumberValue(d);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteConfigTensors(Utf8JsonWriter w, ReadOnlySpan<byte> name, List<TensorConfig> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, t.Name);
            w.WriteString("data_type"u8, t.DataType.ToConfigName());
            w.WriteStartArray("dims"u8);
            foreach (var d in t.Dims)
            {
                w.WriteNumberValue(d);
            }

            w.WriteEndArray();
            if (t.LabelFilename is not null)
            {
                w.WriteString("label_filename"u8, t.LabelFilename);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
