using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Pronto.Core.Errors;

namespace Pronto.Core.Tensors;

/// <summary>
/// A dense, row-major tensor of one <see cref="DataType"/>: rank 0 (a scalar) and zero-element shapes included.
/// Fixed-size element types keep their elements as little-endian bytes in <see cref="Data"/>;
/// <see cref="DataType.Bytes"/> keeps one byte string per element in <see cref="Strings"/>.
/// </summary>
/// <remarks>
/// Ownership: a tensor never owns pooled memory. Whoever builds it from a rented buffer (a protocol
/// decoder reading a request body, say) keeps the buffer alive and unchanged until the inference that
/// reads the tensor has completed, and returns it afterwards. Tensors are immutable once built.
/// </remarks>
public sealed class Tensor
{
    private readonly ReadOnlyMemory<byte>[]? _strings;

    private Tensor(DataType dataType, ImmutableArray<long> shape, long elementCount, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte>[]? strings)
    {
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        Data = data;
        _strings = strings;
    }

    public DataType DataType { get; }

    public ImmutableArray<long> Shape { get; }

    public int Rank => Shape.Length;

    /// <summary>Product of the dimensions: 1 for a scalar, 0 for a tensor with a zero dimension.</summary>
    public long ElementCount { get; }

    /// <summary>The elements as little-endian bytes (empty for BYTES tensors).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The elements of a BYTES tensor, one byte string each (empty for other types).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Strings => _strings ?? [];

    /// <summary>Bytes the elements take: for BYTES, the sum of the strings' lengths.</summary>
    public long ByteSize
    {
        get
        {
            if (_strings is null)
            {
                return Data.Length;
            }

            long total = 0;
            foreach (var s in _strings)
            {
                total += s.Length;
            }

            return total;
        }
    }

    /// <summary>Elements of a fixed-size type viewed as <typeparamref name="T"/>, without a copy.</summary>
    public ReadOnlySpan<T> Span<T>() where T : unmanaged
    {
        CheckElementType<T>();
        return MemoryMarshal.Cast<byte, T>(Data.Span);
    }

    /// <summary>A copy of the elements as an array of <typeparamref name="T"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged => Span<T>().ToArray();

    /// <summary>Element <paramref name="index"/> of a BYTES tensor decoded as UTF-8.</summary>
    public string GetString(int index) => Encoding.UTF8.GetString(Strings[index].Span);

    public override string ToString() => $"{DataType.ToProtocolName()}[{string.Join(",", Shape)}]";

    /// <summary>Builds a tensor over <paramref name="values"/>; the array is kept, not copied, and must not change afterwards.</summary>
    public static Tensor Create<T>(T[] values, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!DataTypes.TryFromClrType(typeof(T), out var type))
        {
            throw new ArgumentException($"{typeof(T).Name} is not a tensor element type; use FromBytes for BF16.", nameof(values));
        }

        return FromBytes(type, AsByteMemory(values), shape);
    }

    /// <summary>A rank-0 tensor holding one value.</summary>
    public static Tensor Scalar<T>(T value) where T : unmanaged => Create([value]);

    /// <summary>
    /// Builds a fixed-size tensor over little-endian <paramref name="data"/>, which is kept, not copied.
    /// Throws <see cref="ProntoException"/> (invalid argument) when the byte count does not match the shape.
    /// </summary>
    public static Tensor FromBytes(DataType type, ReadOnlyMemory<byte> data, params long[] shape)
    {
        var elementSize = type.ElementSize();
        if (elementSize == 0)
        {
            throw new ArgumentException($"{type.ToProtocolName()} has no fixed element size; use FromStrings.", nameof(type));
        }

        var count = CountElements(shape);
        if (count * elementSize != data.Length)
        {
            ProntoErrors.InvalidArgument(
                $"a {type.ToProtocolName()} tensor of shape [{string.Join(",", shape)}] needs {count * elementSize} bytes, got {data.Length}");
        }

        return new Tensor(type, [.. shape], count, data, null);
    }

    /// <summary>Builds a BYTES tensor over <paramref name="elements"/> (kept, not copied).</summary>
    public static Tensor FromStrings(ReadOnlyMemory<byte>[] elements, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var count = CountElements(shape);
        if (count != elements.Length)
        {
            ProntoErrors.InvalidArgument($"a BYTES tensor of shape [{string.Join(",", shape)}] needs {count} elements, got {elements.Length}");
        }

        return new Tensor(DataType.Bytes, [.. shape], count, ReadOnlyMemory<byte>.Empty, elements);
    }

    /// <summary>Builds a BYTES tensor of UTF-8 encoded strings, shape <c>[n]</c> unless given.</summary>
    public static Tensor FromStrings(IReadOnlyList<string> values, long[]? shape = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var elements = new ReadOnlyMemory<byte>[values.Count];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = Encoding.UTF8.GetBytes(values[i]);
        }

        return FromStrings(elements, shape ?? [values.Count]);
    }

    /// <summary>Product of <paramref name="shape"/>; negative dimensions and overflow are invalid arguments.</summary>
    public static long CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                ProntoErrors.InvalidArgument($"shape [{string.Join(",", shape.ToArray())}] has a negative dimension");
            }

            try
            {
                count = checked(count * d);
            }
            catch (OverflowException)
            {
                ProntoErrors.InvalidArgument($"shape [{string.Join(",", shape.ToArray())}] has too many elements");
            }
        }

        return count;
    }

    private static ReadOnlyMemory<byte> AsByteMemory<T>(T[] values) where T : unmanaged =>
        new ArrayByteMemoryManager<T>(values).Memory;

    private void CheckElementType<T>() where T : unmanaged
    {
        if (DataType == DataType.Bytes || Unsafe.SizeOf<T>() != DataType.ElementSize())
        {
            throw new InvalidOperationException($"a {DataType.ToProtocolName()} tensor cannot be read as {typeof(T).Name}");
        }
    }
}
