using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using Parquet.Schema;
using Pronto.Batch.Output;
using Snappier;
using Encoding = Parquet.Meta.Encoding;
using FooterChunk = Parquet.Meta.ColumnChunk;
using PhysicalType = Parquet.Meta.Type;

namespace Pronto.Batch.Input;

/// <summary>
/// Pronto's own decoder for the common Parquet column chunk of the columnar fast path: a flat column (no repetition,
/// definition level 0 or 1) of INT32, INT64, FLOAT, DOUBLE or BOOLEAN, UNCOMPRESSED or SNAPPY, in DATA_PAGE and
/// DATA_PAGE_V2 pages whose values are PLAIN (booleans also RLE) or indices into a PLAIN DICTIONARY_PAGE. The
/// chunk's bytes come in one positioned read and its pages are decoded synchronously straight into the pooled
/// arrays of a <see cref="ColumnData"/>, widened as the Parquet.Net path widens them: INT32 through the field's CLR
/// type (so an INT_8 truncates to sbyte, a UINT_32 is unsigned), FLOAT to double.
/// </summary>
/// <remarks>
/// Whether a chunk is decoded here is settled before any value is decoded, from the footer and then the page
/// headers: <see cref="TryDecode"/> returns null for anything else (other encodings or codecs, INT96, byte arrays,
/// an unknown page type) and the caller reads that chunk through Parquet.Net. Bad data is an
/// <see cref="InvalidDataException"/> naming the column. One reader's: not thread-safe; owns its file handle and
/// scratch buffers until <see cref="Dispose"/>.
/// </remarks>
internal sealed class ParquetColumnDecoder : IDisposable
{
    private const int Plain = (int)Encoding.PLAIN;
    private const int PlainDictionary = (int)Encoding.PLAIN_DICTIONARY;
    private const int Rle = (int)Encoding.RLE;
    private const int RleDictionary = (int)Encoding.RLE_DICTIONARY;

    private readonly SafeFileHandle _file;
    private readonly long _fileLength;
    private readonly List<(PageHeader Header, int Offset)> _pages = [];
    private byte[] _chunk = [];
    private byte[] _page = [];
    private byte[] _levels = [];
    private int[] _indices = [];

    public ParquetColumnDecoder(string path)
    {
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        _fileLength = RandomAccess.GetLength(_file);
    }

    /// <summary>Chunks decoded here (tests check that the fast decoder, not the fallback, ran).</summary>
    public int DecodedChunks { get; private set; }

    /// <summary>
    /// The column chunk of <paramref name="field"/> in <paramref name="chunk"/>'s row group, of <paramref name="rows"/>
    /// rows, as <paramref name="kind"/>; null when this decoder does not handle it (nothing rented then).
    /// </summary>
    public ColumnData? TryDecode(DataField field, FooterChunk? chunk, ColumnKind kind, int rows)
    {
        if (!BitConverter.IsLittleEndian || field.MaxRepetitionLevel != 0 || field.MaxDefinitionLevel > 1
            || chunk?.MetaData is not { } meta || chunk.FilePath is not null || chunk.CryptoMetadata is not null
            || chunk.EncryptedColumnMetadata is not null
            || meta.Codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY)
            || !KnownEncodings(meta.Encodings))
        {
            return null;
        }

        var type = field.ClrType;
        var column = new Chunk(field.Name, meta.Codec == CompressionCodec.SNAPPY, field.MaxDefinitionLevel == 1, rows);
        var decoded = (meta.Type, kind) switch
        {
            (PhysicalType.INT64, ColumnKind.Int64) when type == typeof(long) => Decode<long, Same<long>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(int) => Decode<long, Int32As<int>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(short) => Decode<long, Int32As<short>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(sbyte) => Decode<long, Int32As<sbyte>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(byte) => Decode<long, Int32As<byte>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(ushort) => Decode<long, Int32As<ushort>>(column, meta),
            (PhysicalType.INT32, ColumnKind.Int64) when type == typeof(uint) => Decode<long, Int32As<uint>>(column, meta),
            (PhysicalType.DOUBLE, ColumnKind.Double) when type == typeof(double) => Decode<double, Same<double>>(column, meta),
            (PhysicalType.FLOAT, ColumnKind.Double) when type == typeof(float) => Decode<double, FloatAsDouble>(column, meta),
            (PhysicalType.BOOLEAN, ColumnKind.Bool) when type == typeof(bool) => Decode<bool, Bits>(column, meta),
            _ => (Array?)null,
        };
        if (decoded is null)
        {
            return null;
        }

        DecodedChunks++;
        return new ColumnData(kind, decoded, column.Nulls);
    }

    /// <summary>
    /// The chunk's encodings, as the footer lists them, are ones this decoder reads (BIT_PACKED: parquet-mr lists
    /// it for the repetition levels a flat column does not have; a page that uses it falls back).
    /// </summary>
    private static bool KnownEncodings(List<Encoding>? encodings)
    {
        foreach (var encoding in encodings ?? [])
        {
            if (encoding is not (Encoding.PLAIN or Encoding.PLAIN_DICTIONARY or Encoding.RLE or Encoding.BIT_PACKED or Encoding.RLE_DICTIONARY))
            {
                return false;
            }
        }

        return true;
    }

    private TOut[]? Decode<TOut, TValues>(Chunk column, ColumnMetaData meta)
        where TOut : unmanaged
        where TValues : struct, IPlainValues<TOut>
    {
        try
        {
            var bytes = ReadChunk(meta);
            return ScanPages(column, bytes, dictionary: typeof(TOut) != typeof(bool), rle: typeof(TOut) == typeof(bool))
                ? DecodePages<TOut, TValues>(column, bytes)
                : null;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Parquet column '{column.Name}': {e.Message}", e);
        }
    }

    /// <summary>Where a column chunk starts in the file: at its dictionary page when it has one (some writers record an offset of 0 for none).</summary>
    public static long StartOf(ColumnMetaData meta) =>
        meta.DictionaryPageOffset is > 0 and var dictionary && dictionary < meta.DataPageOffset ? dictionary : meta.DataPageOffset;

    /// <summary>The chunk's bytes (dictionary page, if any, and data pages) from the file into <see cref="_chunk"/>.</summary>
    private ReadOnlySpan<byte> ReadChunk(ColumnMetaData meta)
    {
        var start = StartOf(meta);
        var length = meta.TotalCompressedSize;
        if (start < 0 || length <= 0 || length > Array.MaxLength || start > _fileLength - length)
        {
            throw new InvalidDataException($"the column chunk's {length} bytes at {start} are not inside the file's {_fileLength}");
        }

        if (_chunk.Length < length)
        {
            Grow(ref _chunk, (int)length);
        }

        var span = _chunk.AsSpan(0, (int)length);
        for (var read = 0; read < span.Length;)
        {
            var n = RandomAccess.Read(_file, span[read..], start + read);
            read += n > 0 ? n : throw new InvalidDataException($"the file ends inside the column chunk at {start}");
        }

        return span;
    }

    /// <summary>
    /// Reads every page header of the chunk into <see cref="_pages"/> and checks the layout: pages inside the chunk,
    /// at most one dictionary page and before the data, value counts adding up to the rows. False where a page is
    /// of a type or encoding this decoder does not read: the chunk falls back before anything is decoded.
    /// </summary>
    private bool ScanPages(Chunk column, ReadOnlySpan<byte> bytes, bool dictionary, bool rle)
    {
        _pages.Clear();
        var values = 0L;
        var dictionaryPage = false;
        var offset = 0;
        while (values < column.Rows)
        {
            if (offset >= bytes.Length)
            {
                throw new InvalidDataException($"the column chunk holds {values} values, the row group has {column.Rows} rows");
            }

            var thrift = new ThriftCompact(bytes[offset..]);
            PageHeader header;
            try
            {
                header = thrift.ReadPageHeader();
            }
            catch (Exception e) when (e is InvalidDataException or OverflowException or IndexOutOfRangeException)
            {
                // ThriftCompact's sizes from a corrupt header can overflow before its bounds checks see them.
                throw new InvalidDataException($"page header at byte {offset} of the column chunk: {e.Message}", e);
            }

            var body = offset + thrift.Position;
            if (header.CompressedSize > bytes.Length - body || header.NumValues < 0)
            {
                throw new InvalidDataException($"the page at byte {offset} of the column chunk claims {header.CompressedSize} bytes and {header.NumValues} values; the chunk has {bytes.Length - body} bytes left");
            }

            switch (header.Type)
            {
                case PageHeader.DictionaryPage when dictionary && header.Encoding is Plain or PlainDictionary:
                    if (dictionaryPage || values > 0)
                    {
                        throw new InvalidDataException($"a dictionary page at byte {offset} of the column chunk follows other pages");
                    }

                    dictionaryPage = true;
                    break;
                case PageHeader.DataPage or PageHeader.DataPageV2:
                    if (!Supported(column, header, rle))
                    {
                        return false;
                    }

                    if (header.Encoding is PlainDictionary or RleDictionary && !dictionaryPage)
                    {
                        throw new InvalidDataException($"the dictionary-encoded page at byte {offset} of the column chunk has no dictionary page");
                    }

                    values += header.NumValues;
                    if (values > column.Rows)
                    {
                        throw new InvalidDataException($"the column chunk holds more values than the row group's {column.Rows} rows");
                    }

                    break;
                default:
                    return false;
            }

            _pages.Add((header, body));
            offset = body + header.CompressedSize;
        }

        return true;
    }

    /// <summary>A data page this decoder reads: its value encoding, its definition levels' encoding, and v2's level sizes.</summary>
    private static bool Supported(Chunk column, in PageHeader header, bool rle)
    {
        if (header.Encoding is not (Plain or PlainDictionary or RleDictionary) && !(rle && header.Encoding == Rle))
        {
            return false;
        }

        if (header.Type == PageHeader.DataPage)
        {
            return !column.Nullable || header.DefinitionEncoding == Rle;
        }

        if (header.RepetitionBytes != 0 || header.DefinitionBytes < 0 || (!column.Nullable && header.DefinitionBytes != 0)
            || header.DefinitionBytes > header.CompressedSize || header.DefinitionBytes > header.UncompressedSize)
        {
            throw new InvalidDataException($"a v2 data page has {header.RepetitionBytes} bytes of repetition levels and {header.DefinitionBytes} of definition levels, for a flat {(column.Nullable ? "optional" : "required")} column");
        }

        return true;
    }

    private TOut[] DecodePages<TOut, TValues>(Chunk column, ReadOnlySpan<byte> bytes)
        where TOut : unmanaged
        where TValues : struct, IPlainValues<TOut>
    {
        var values = ArrayPool<TOut>.Shared.Rent(column.Rows);
        TOut[]? dictionary = null;
        var entries = 0;
        if (column.Nullable && _levels.Length < column.Rows)
        {
            Grow(ref _levels, column.Rows);
        }

        try
        {
            var row = 0;
            foreach (var (header, offset) in _pages)
            {
                var stored = bytes.Slice(offset, header.CompressedSize);
                if (header.Type == PageHeader.DictionaryPage)
                {
                    var plain = Decompress(column, stored, header.UncompressedSize);
                    entries = header.NumValues;
                    dictionary = ArrayPool<TOut>.Shared.Rent(entries);
                    DecodePlain<TOut, TValues>(plain, dictionary.AsSpan(0, entries));
                    continue;
                }

                ReadOnlySpan<byte> levels = default;
                ReadOnlySpan<byte> data;
                if (header.Type == PageHeader.DataPage)
                {
                    data = Decompress(column, stored, header.UncompressedSize);
                    if (column.Nullable)
                    {
                        // v1: the definition levels' byte length (4 bytes, little-endian), then the levels.
                        var length = data.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(data) : -1;
                        if (length < 0 || length > data.Length - 4)
                        {
                            throw new InvalidDataException($"a data page's definition levels claim {length} of its {data.Length} bytes");
                        }

                        levels = data.Slice(4, length);
                        data = data[(4 + length)..];
                    }
                }
                else
                {
                    // v2: the levels are never compressed; is_compressed applies to the values only.
                    levels = stored.Slice(0, header.DefinitionBytes);
                    var rest = stored[header.DefinitionBytes..];
                    data = header.IsCompressed ? Decompress(column, rest, header.UncompressedSize - header.DefinitionBytes) : rest;
                }

                var n = header.NumValues;
                var target = values.AsSpan(row, n);
                var present = n;
                if (column.Nullable)
                {
                    var defined = _levels.AsSpan(0, n);
                    RleBitPackedHybrid.Decode(levels, 1, defined);
                    present = n - defined.Count((byte)0);
                }

                DecodeValues<TOut, TValues>(header.Encoding, data, target[..present], dictionary.AsSpan(0, entries));
                if (present < n)
                {
                    column.Nulls ??= ColumnData.RentNulls(column.Rows);
                    var nulls = column.Nulls.AsSpan(row, n);
                    var defined = _levels.AsSpan(0, n);
                    for (var i = 0; i < n; i++)
                    {
                        nulls[i] = defined[i] == 0;
                    }

                    ColumnData.Spread(target, nulls);
                }

                row += n;
            }
        }
        finally
        {
            if (dictionary is not null)
            {
                ArrayPool<TOut>.Shared.Return(dictionary);
            }
        }

        return values;
    }

    /// <summary>A page's present values, packed at the front of their rows.</summary>
    private void DecodeValues<TOut, TValues>(int encoding, ReadOnlySpan<byte> data, Span<TOut> output, ReadOnlySpan<TOut> dictionary)
        where TOut : unmanaged
        where TValues : struct, IPlainValues<TOut>
    {
        switch (encoding)
        {
            case Plain:
                DecodePlain<TOut, TValues>(data, output);
                break;
            case Rle:
                // Booleans only (ScanPages): the hybrid's byte length (4 bytes), then 1-bit values. A bool is one byte, 0 or 1.
                var length = data.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(data) : -1;
                if (length < 0 || length > data.Length - 4)
                {
                    throw new InvalidDataException($"RLE booleans claim {length} of their page's {data.Length} bytes");
                }

                RleBitPackedHybrid.Decode(data.Slice(4, length), 1, MemoryMarshal.Cast<TOut, byte>(output));
                break;
            default:
                // PLAIN_DICTIONARY / RLE_DICTIONARY: the indices' bit width (1 byte), then the hybrid indices.
                if (output.IsEmpty)
                {
                    break;
                }

                var width = data.IsEmpty ? -1 : data[0];
                if (width is < 0 or > 32)
                {
                    throw new InvalidDataException($"dictionary indices of {width} bits");
                }

                if (_indices.Length < output.Length)
                {
                    Grow(ref _indices, output.Length);
                }

                var indices = _indices.AsSpan(0, output.Length);
                RleBitPackedHybrid.Decode(data[1..], width, indices);
                for (var i = 0; i < indices.Length; i++)
                {
                    var index = indices[i];
                    output[i] = (uint)index < (uint)dictionary.Length
                        ? dictionary[index]
                        : throw new InvalidDataException($"dictionary index {(uint)index} of a dictionary of {dictionary.Length} values");
                }

                break;
        }
    }

    private static void DecodePlain<TOut, TValues>(ReadOnlySpan<byte> data, Span<TOut> output)
        where TOut : unmanaged
        where TValues : struct, IPlainValues<TOut>
    {
        var needed = TValues.BytesFor(output.Length);
        if (needed > data.Length)
        {
            throw new InvalidDataException($"{output.Length} PLAIN values need {needed} bytes, the page has {data.Length}");
        }

        TValues.Decode(data, output);
    }

    /// <summary>A page body (or v2's values) as <paramref name="size"/> uncompressed bytes: the stored bytes, or Snappy's output in <see cref="_page"/>.</summary>
    private ReadOnlySpan<byte> Decompress(Chunk column, ReadOnlySpan<byte> stored, int size)
    {
        if (!column.Snappy)
        {
            return stored;
        }

        var length = Snappy.GetUncompressedLength(stored);
        if (length != size)
        {
            throw new InvalidDataException($"a Snappy page holds {length} bytes, its header says {size}");
        }

        if (_page.Length < length)
        {
            Grow(ref _page, length);
        }

        var output = _page.AsSpan(0, length);
        Snappy.Decompress(stored, output);
        return output;
    }

    private static void Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<T>.Shared.Return(buffer);
        }

        buffer = ArrayPool<T>.Shared.Rent(length);
    }

    public void Dispose()
    {
        _file.Dispose();
        ReturnScratch(ref _chunk);
        ReturnScratch(ref _page);
        ReturnScratch(ref _levels);
        ReturnScratch(ref _indices);
    }

    private static void ReturnScratch<T>(ref T[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<T>.Shared.Return(buffer);
        }

        buffer = [];
    }

    /// <summary>One column chunk being decoded: its name (for errors), codec, nullability, rows, and the null mask once a row is null.</summary>
    private sealed class Chunk(string name, bool snappy, bool nullable, int rows)
    {
        public string Name { get; } = name;

        public bool Snappy { get; } = snappy;

        public bool Nullable { get; } = nullable;

        public int Rows { get; } = rows;

        public bool[]? Nulls { get; set; }
    }

    /// <summary>
    /// PLAIN values of one physical type as the job's type. Static members on structs: each instantiation is its
    /// own compiled loop, no call per value.
    /// </summary>
    private interface IPlainValues<TOut>
        where TOut : unmanaged
    {
        static abstract long BytesFor(int count);

        /// <summary>Decodes <paramref name="output"/>.Length values; <paramref name="data"/> holds at least <see cref="BytesFor"/> bytes.</summary>
        static abstract void Decode(ReadOnlySpan<byte> data, Span<TOut> output);
    }

    /// <summary>INT64 as long, DOUBLE as double: the bytes are the values.</summary>
    private readonly struct Same<T> : IPlainValues<T>
        where T : unmanaged
    {
        public static long BytesFor(int count) => (long)count * Unsafe.SizeOf<T>();

        public static void Decode(ReadOnlySpan<byte> data, Span<T> output) => MemoryMarshal.Cast<byte, T>(data)[..output.Length].CopyTo(output);
    }

    /// <summary>INT32 as long through the field's CLR type <typeparamref name="TClr"/>, as Parquet.Net reads it (UINT_32 unsigned, INT_8 truncated to sbyte).</summary>
    private readonly struct Int32As<TClr> : IPlainValues<long>
        where TClr : unmanaged, IBinaryInteger<TClr>
    {
        public static long BytesFor(int count) => count * 4L;

        public static void Decode(ReadOnlySpan<byte> data, Span<long> output)
        {
            var stored = MemoryMarshal.Cast<byte, int>(data)[..output.Length];
            for (var i = 0; i < stored.Length; i++)
            {
                output[i] = long.CreateTruncating(TClr.CreateTruncating(stored[i]));
            }
        }
    }

    private readonly struct FloatAsDouble : IPlainValues<double>
    {
        public static long BytesFor(int count) => count * 4L;

        public static void Decode(ReadOnlySpan<byte> data, Span<double> output)
        {
            var stored = MemoryMarshal.Cast<byte, float>(data)[..output.Length];
            for (var i = 0; i < stored.Length; i++)
            {
                output[i] = stored[i];
            }
        }
    }

    /// <summary>PLAIN booleans: one bit each, LSB first.</summary>
    private readonly struct Bits : IPlainValues<bool>
    {
        public static long BytesFor(int count) => (count + 7L) >> 3;

        public static void Decode(ReadOnlySpan<byte> data, Span<bool> output)
        {
            for (var i = 0; i < output.Length; i++)
            {
                output[i] = ((data[i >> 3] >> (i & 7)) & 1) != 0;
            }
        }
    }
}
