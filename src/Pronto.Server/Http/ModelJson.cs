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

    /// <summary>Triton's <c>/config</c> JSON: the config's protobuf message (the one gRPC sends) in protobuf's JSON form (<see cref="ModelConfigMessage.ToJson"/>).</summary>
    public static void WriteConfig(Utf8JsonWriter w, ModelConfig config) => ModelConfigMessage.ToJson(config).WriteTo(w);

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
}
