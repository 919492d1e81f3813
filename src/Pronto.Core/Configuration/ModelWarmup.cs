using Pronto.Core.Tensors;

namespace Pronto.Core.Configuration;

/// <summary>
/// One of Triton's <c>model_warmup</c> samples: a request the model must answer before it is READY
/// (<c>model_warmup [ { name batch_size inputs { key value { data_type dims zero_data|random_data|input_data_file } } count } ]</c>).
/// </summary>
public sealed class ModelWarmup
{
    public required string Name { get; set; }

    /// <summary>
    /// 0: the sample is skipped, as Triton skips it. A batching model gets the inputs repeated to this batch size in
    /// one run; a model without batching runs the sample this many times.
    /// </summary>
    public int BatchSize { get; set; }

    /// <summary>The sample's inputs, one per name (the protobuf map, in the order the config gives them).</summary>
    public List<WarmupInput> Inputs { get; init; } = [];

    /// <summary>Runs of the sample; 0, the default, means one, as in Triton.</summary>
    public int Count { get; set; }
}

/// <summary>One input of a <see cref="ModelWarmup"/> sample.</summary>
public sealed class WarmupInput
{
    public required string Name { get; set; }

    public DataType DataType { get; set; }

    /// <summary>The shape without the batch dimension; every dimension must be given (no -1).</summary>
    public long[] Dims { get; set; } = [];

    public WarmupData Data { get; set; }

    /// <summary>For <see cref="WarmupData.File"/>: a file in the model folder's <c>warmup/</c> folder.</summary>
    public string? InputDataFile { get; set; }
}

/// <summary>Where a warm-up input's values come from (Triton's <c>input_data_type</c> oneof).</summary>
public enum WarmupData
{
    /// <summary><c>zero_data</c>: zeros (empty strings for TYPE_STRING).</summary>
    Zero,

    /// <summary><c>random_data</c>: values from a fixed seed (empty strings for TYPE_STRING, as in Triton).</summary>
    Random,

    /// <summary><c>input_data_file</c>: raw little-endian bytes, row-major; TYPE_STRING as 4-byte lengths then bytes.</summary>
    File,
}
