using System.Buffers.Binary;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;

namespace Pronto.Core.Repository;

/// <summary>
/// Runs a config's <c>model_warmup</c> samples on a freshly loaded instance, as Triton does before a model is READY:
/// straight on the instance (no queue, no statistics), checked by <see cref="InputValidator"/> like any request.
/// A sample that fails makes the load fail with a reason naming the sample.
/// </summary>
internal static class ModelWarmupRunner
{
    /// <summary>Triton reads <c>input_data_file</c> from this folder of the model's folder (not of a version folder).</summary>
    public const string DataFolder = "warmup";

    /// <summary>Runs every sample in order; throws <see cref="ProntoException"/> (InvalidArgument) at the first that fails.</summary>
    public static void Run(ModelConfig config, string modelDirectory, IModelInstance instance, CancellationToken cancellationToken)
    {
        if (config.ModelWarmup.Count == 0)
        {
            return;
        }

        var outputs = new string[config.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = config.Outputs[i].Name;
        }

        foreach (var sample in config.ModelWarmup)
        {
            // Triton skips a sample of batch size 0.
            if (sample.BatchSize == 0)
            {
                continue;
            }

            try
            {
                var batched = config.MaxBatchSize > 0;
                var inputs = Build(sample, modelDirectory, batched ? sample.BatchSize : 0);
                InputValidator.Validate(config, inputs);

                // A model without batching takes the sample batch_size times, as Triton sends it batch_size requests.
                var runs = (long)Math.Max(1, sample.Count) * (batched ? 1 : sample.BatchSize);
                for (long r = 0; r < runs; r++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    instance.Run(inputs, outputs, cancellationToken);
                }
            }
            catch (ProntoException e)
            {
                throw new ProntoException(ErrorCode.InvalidArgument, $"model_warmup sample '{sample.Name}' failed: {e.Message}", e);
            }
        }
    }

    /// <summary>The sample's tensors; <paramref name="batch"/> &gt; 0 prepends a batch dimension and repeats the data.</summary>
    private static List<NamedTensor> Build(ModelWarmup sample, string modelDirectory, int batch)
    {
        var inputs = new List<NamedTensor>(sample.Inputs.Count);
        foreach (var input in sample.Inputs)
        {
            if (input.DataType == DataType.Invalid)
            {
                ProntoErrors.InvalidArgument($"input '{input.Name}' needs a data_type");
            }

            foreach (var d in input.Dims)
            {
                if (d < 0)
                {
                    ProntoErrors.InvalidArgument($"input '{input.Name}' has dims [{string.Join(",", input.Dims)}]; a warm-up sample gives every dimension (no -1)");
                }
            }

            var count = Tensor.CountElements(input.Dims);
            long[] shape = batch > 0 ? [batch, .. input.Dims] : input.Dims;
            var copies = Math.Max(1, batch);
            var tensor = input.DataType == DataType.Bytes
                ? Tensor.FromStrings(Repeat(Strings(input, modelDirectory, count), copies), shape)
                : Tensor.FromBytes(input.DataType, Repeat(Bytes(input, modelDirectory, count), copies), shape);
            inputs.Add(new NamedTensor(input.Name, tensor));
        }

        return inputs;
    }

    /// <summary>One sample's worth (no batch dimension) of a fixed-size input.</summary>
    private static byte[] Bytes(WarmupInput input, string modelDirectory, long count)
    {
        var size = checked((int)(count * input.DataType.ElementSize()));
        switch (input.Data)
        {
            case WarmupData.File:
                var file = ReadFile(input, modelDirectory);

                // Triton reads the bytes the shape needs and ignores any after them.
                if (file.Length < size)
                {
                    ProntoErrors.InvalidArgument(
                        $"input '{input.Name}': {input.DataType.ToConfigName()} [{string.Join(",", input.Dims)}] needs {size} bytes, but {DataFolder}/{input.InputDataFile} has {file.Length}");
                }

                return file.Length == size ? file : file[..size];
            case WarmupData.Random:
                return RandomValues(input.DataType, count, size);
            default:
                return new byte[size];
        }
    }

    /// <summary>One sample's worth of a BYTES input: empty strings for zero and random data (as in Triton), else the file's elements.</summary>
    private static ReadOnlyMemory<byte>[] Strings(WarmupInput input, string modelDirectory, long count)
    {
        if (input.Data != WarmupData.File)
        {
            var empty = new ReadOnlyMemory<byte>[count];
            Array.Fill(empty, ReadOnlyMemory<byte>.Empty);
            return empty;
        }

        return BinaryTensors.SplitStrings(input.Name, ReadFile(input, modelDirectory), count, $"in {DataFolder}/{input.InputDataFile}");
    }

    private static byte[] ReadFile(WarmupInput input, string modelDirectory)
    {
        var folder = Path.GetFullPath(Path.Combine(modelDirectory, DataFolder));
        var name = input.InputDataFile ?? string.Empty;
        var path = Path.GetFullPath(Path.Combine(folder, name));

        // The name comes from a config file: it may not reach outside the model's warmup folder.
        if (name.Length == 0 || Path.IsPathRooted(name) || !path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            ProntoErrors.InvalidArgument($"input '{input.Name}': input_data_file '{name}' must name a file inside the model's {DataFolder}/ folder");
        }

        if (!File.Exists(path))
        {
            ProntoErrors.InvalidArgument($"input '{input.Name}': input_data_file {DataFolder}/{name} does not exist in {modelDirectory}");
        }

        return File.ReadAllBytes(path);
    }

    private static T[] Repeat<T>(T[] one, int copies)
    {
        if (copies == 1)
        {
            return one;
        }

        var all = new T[checked(one.Length * copies)];
        for (var i = 0; i < copies; i++)
        {
            one.CopyTo(all, i * one.Length);
        }

        return all;
    }

    /// <summary>
    /// Values from a fixed seed, so a warm-up behaves the same at every load: floating types uniform in [0, 1],
    /// integers in 0..127 (every integer type holds them), booleans 0 or 1. Triton fills raw random bytes, which
    /// make NaNs and huge numbers; values a model can take warm up more models.
    /// </summary>
    private static byte[] RandomValues(DataType type, long count, int size)
    {
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        var state = 0x9E3779B97F4A7C15UL;
        for (var i = 0; i < count; i++)
        {
            var next = SplitMix64(ref state);
            var unit = (next >> 11) * (1.0 / (1UL << 53));
            var small = (byte)(next >> 57);
            switch (type)
            {
                case DataType.Bool:
                    span[i] = (byte)(next >> 63);
                    break;
                case DataType.UInt8 or DataType.Int8:
                    span[i] = small;
                    break;
                case DataType.UInt16 or DataType.Int16:
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], small);
                    break;
                case DataType.UInt32 or DataType.Int32:
                    BinaryPrimitives.WriteUInt32LittleEndian(span[(i * 4)..], small);
                    break;
                case DataType.UInt64 or DataType.Int64:
                    BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], small);
                    break;
                case DataType.FP16:
                    BinaryPrimitives.WriteHalfLittleEndian(span[(i * 2)..], (Half)unit);
                    break;
                case DataType.BF16:
                    // BF16 is the upper half of an FP32.
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)(BitConverter.SingleToUInt32Bits((float)unit) >> 16));
                    break;
                case DataType.FP32:
                    BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], (float)unit);
                    break;
                case DataType.FP64:
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], unit);
                    break;
                default:
                    break;
            }
        }

        return bytes;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
