using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;

namespace Pronto.Core.Processing;

/// <summary>
/// Reads Pronto's processing declaration from a model config's <c>parameters</c>: keys start with <c>pronto.</c>,
/// so they sit beside Triton's own without clashing.
/// </summary>
internal sealed class ProcessingParameters(ModelConfig config)
{
    public ModelConfig Config { get; } = config;

    public string? Get(string key) => Config.Parameters.TryGetValue(key, out var v) ? v : null;

    public string Require(string key) =>
        Get(key) ?? ProntoErrors.InvalidArgument<string>($"model '{Config.Name}': config parameter '{key}' is required by its processing");

    public int GetInt(string key, int fallback)
    {
        var text = Get(key);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : ProntoErrors.InvalidArgument<int>($"model '{Config.Name}': config parameter '{key}' must be a positive integer, got '{text}'");
    }

    public bool GetBool(string key, bool fallback)
    {
        var text = Get(key);
        return text switch
        {
            null => fallback,
            "true" => true,
            "false" => false,
            _ => ProntoErrors.InvalidArgument<bool>($"model '{Config.Name}': config parameter '{key}' must be true or false, got '{text}'"),
        };
    }

    public float[]? GetFloats(string key)
    {
        var text = Get(key);
        if (text is null)
        {
            return null;
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
            {
                ProntoErrors.InvalidArgument($"model '{Config.Name}': config parameter '{key}' must be comma-separated numbers, got '{text}'");
            }
        }

        return values;
    }

    /// <summary>
    /// The dims of an output made of <paramref name="width"/> values per row of <paramref name="source"/>: [width] when
    /// the model batches, else [rows, width] with the rows the source's first dim holds.
    /// </summary>
    public long[] RowDims(TensorConfig source, Func<ReadOnlySpan<long>, long> width)
    {
        if (Config.MaxBatchSize > 0 || source.Dims.Length == 0)
        {
            return [width(source.Dims)];
        }

        return [source.Dims[0], width(source.Dims.AsSpan(1))];
    }

    /// <summary>Elements of a tensor of <paramref name="dims"/>: -1 when a dim is variable.</summary>
    public static long Elements(ReadOnlySpan<long> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0)
            {
                return -1;
            }

            n *= d;
        }

        return n;
    }

    public TensorConfig Input(string name) =>
        Config.Inputs.Find(t => t.Name == name)
        ?? ProntoErrors.InvalidArgument<TensorConfig>($"model '{Config.Name}': its processing names input '{name}', which the model does not have");

    public TensorConfig Output(string name) =>
        Config.Outputs.Find(t => t.Name == name)
        ?? ProntoErrors.InvalidArgument<TensorConfig>($"model '{Config.Name}': its processing names output '{name}', which the model does not have");
}
