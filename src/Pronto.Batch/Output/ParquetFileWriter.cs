using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Snappier;

namespace Pronto.Batch.Output;

/// <summary>
/// Pronto's own Parquet encoder for batch outputs: the few layouts a part holds, written straight from the row
/// group's buffers. Kept columns are OPTIONAL (INT64, DOUBLE, FLOAT for a <see cref="Column.Single"/> column,
/// BOOLEAN, BYTE_ARRAY as UTF8 string or binary),
/// <c>predicted_probability</c> is a REQUIRED FLOAT and the score and embedding lists are a 3-level LIST of REQUIRED
/// FLOAT. One data page (v1, SNAPPY) per column chunk; values PLAIN, levels RLE / bit-packed; a string column
/// with few distinct values of a row group (labels) is dictionary-encoded. No statistics.
/// </summary>
internal sealed class ParquetFileWriter(Stream stream, IReadOnlyList<Column> columns)
{
    /// <summary>The 4 bytes a Parquet file starts and ends with.</summary>
    public static ReadOnlySpan<byte> Magic => "PAR1"u8;

    // Thrift enums of parquet.thrift.
    private const int TypeBoolean = 0;
    private const int TypeInt64 = 2;
    private const int TypeFloat = 4;
    private const int TypeDouble = 5;
    private const int TypeByteArray = 6;
    private const int Required = 0;
    private const int Optional = 1;
    private const int Repeated = 2;
    private const int ConvertedUtf8 = 0;
    private const int ConvertedList = 3;
    private const int EncodingPlain = 0;
    private const int EncodingRle = 3;
    private const int EncodingRleDictionary = 8;
    private const int CodecSnappy = 1;
    private const int PageData = 0;
    private const int PageDictionary = 2;

    /// <summary>A row group's string column with more distinct values than this is written PLAIN.</summary>
    private const int MaxDictionary = 1024;

    private readonly ArrayBufferWriter<byte> _group = new(1 << 20);
    private readonly ArrayBufferWriter<byte> _page = new(1 << 16);
    private readonly List<(int Rows, Chunk[] Chunks)> _groups = [];
    private readonly Dictionary<string, int> _dictionary = new(StringComparer.Ordinal);
    private readonly List<string> _entries = [];
    private ThriftWriter? _thrift;
    private byte[] _compressed = [];
    private int[] _indexes = [];
    private long _position;

    /// <summary>One column chunk's footer entry.</summary>
    private record struct Chunk(long Start, long DataPage, long? DictionaryPage, long Values, long Uncompressed, long Compressed);

    public async ValueTask WriteRowGroupAsync(RowGroupBuffer buffer, int rows, CancellationToken cancellationToken)
    {
        if (rows == 0)
        {
            return;
        }

        _group.Clear();
        if (_position == 0)
        {
            _group.Write(Magic);
        }

        _thrift ??= new ThriftWriter(_group);
        var chunks = new Chunk[columns.Count];
        for (var c = 0; c < chunks.Length; c++)
        {
            chunks[c] = WriteChunk(buffer.Columns[c], columns[c].Single, rows);
        }

        await stream.WriteAsync(_group.WrittenMemory, cancellationToken);
        _position += _group.WrittenCount;
        _groups.Add((rows, chunks));
    }

    /// <summary>Writes the footer (a file with no row group is still a valid, empty Parquet file) and flushes.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _group.Clear();
        if (_position == 0)
        {
            _group.Write(Magic);
        }

        var footerStart = _group.WrittenCount;
        WriteFooter(_thrift ??= new ThriftWriter(_group));
        var length = _group.WrittenCount - footerStart;
        BinaryPrimitives.WriteInt32LittleEndian(_group.GetSpan(4), length);
        _group.Advance(4);
        _group.Write(Magic);
        await stream.WriteAsync(_group.WrittenMemory, cancellationToken);
        _position += _group.WrittenCount;
        await stream.FlushAsync(cancellationToken);
    }

    private Chunk WriteChunk(ColumnBuffer column, bool single, int rows)
    {
        var start = _position + _group.WrittenCount;
        var (uncompressed, compressed) = (0L, 0L);
        long? dictionaryPage = null;
        long values = rows;
        switch (column.Kind)
        {
            case ColumnKind.Int64:
                DefinitionLevels(column.Levels.AsSpan(0, rows), column.Present == rows);
                _page.Write(MemoryMarshal.AsBytes(((long[])column.Values).AsSpan(0, column.Present)));
                break;
            case ColumnKind.Double when single:
                DefinitionLevels(column.Levels.AsSpan(0, rows), column.Present == rows);
                PlainSingles(((double[])column.Values).AsSpan(0, column.Present));
                break;
            case ColumnKind.Double:
                DefinitionLevels(column.Levels.AsSpan(0, rows), column.Present == rows);
                _page.Write(MemoryMarshal.AsBytes(((double[])column.Values).AsSpan(0, column.Present)));
                break;
            case ColumnKind.Bool:
                DefinitionLevels(column.Levels.AsSpan(0, rows), column.Present == rows);
                PlainBooleans(((bool[])column.Values).AsSpan(0, column.Present));
                break;
            case ColumnKind.Float:
                _page.Write(MemoryMarshal.AsBytes(((float[])column.Values).AsSpan(0, rows)));
                break;
            case ColumnKind.FloatList:
                values = (long)rows * column.Per;
                RepetitionLevels(rows, column.Per);
                {
                    // Every element is defined: the list (level 1), its repeated group (level 2).
                    var at = BeginLevels();
                    RleRun((int)values, 2, 2);
                    EndLevels(at);
                }

                _page.Write(MemoryMarshal.AsBytes(((float[])column.Values).AsSpan(0, (int)values)));
                break;
            case ColumnKind.String:
                {
                    var strings = ((string?[])column.Values).AsSpan(0, rows);
                    if (TryDictionary(strings, out var present))
                    {
                        foreach (var entry in _entries)
                        {
                            PlainString(entry);
                        }

                        dictionaryPage = start;
                        var (u, z) = WritePage(PageDictionary, _entries.Count, EncodingPlain);
                        (uncompressed, compressed) = (u, z);
                        var levels = ByteArrayLevels(strings);
                        DefinitionLevels(levels.AsSpan(0, rows), present == rows);
                        ArrayPool<int>.Shared.Return(levels);
                        var width = BitWidth(_entries.Count - 1);
                        _page.Write([(byte)width]);
                        BitPacked(_indexes.AsSpan(0, present), width);
                        var data = _position + _group.WrittenCount;
                        (u, z) = WritePage(PageData, rows, EncodingRleDictionary);
                        return new Chunk(start, data, dictionaryPage, values, uncompressed + u, compressed + z);
                    }

                    WriteByteArrays(strings);
                    break;
                }

            case ColumnKind.Binary:
                WriteByteArrays(((byte[]?[])column.Values).AsSpan(0, rows));
                break;
            default:
                throw new InvalidOperationException($"no Parquet layout for {column.Kind}");
        }

        var (pageU, pageZ) = WritePage(PageData, (int)values, EncodingPlain);
        return new Chunk(start, start, dictionaryPage, values, pageU, pageZ);
    }

    /// <summary>Definition levels and PLAIN values of a nullable byte-array column (strings as UTF-8).</summary>
    private void WriteByteArrays<T>(ReadOnlySpan<T> values)
        where T : class?
    {
        var levels = ByteArrayLevels(values);
        var all = levels.AsSpan(0, values.Length).IndexOf(0) < 0;
        DefinitionLevels(levels.AsSpan(0, values.Length), all);
        ArrayPool<int>.Shared.Return(levels);
        foreach (var value in values)
        {
            switch (value)
            {
                case string text:
                    PlainString(text);
                    break;
                case byte[] bytes:
                    BinaryPrimitives.WriteInt32LittleEndian(_page.GetSpan(4), bytes.Length);
                    _page.Advance(4);
                    _page.Write(bytes);
                    break;
            }
        }
    }

    private static int[] ByteArrayLevels<T>(ReadOnlySpan<T> values)
        where T : class?
    {
        var levels = ArrayPool<int>.Shared.Rent(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            levels[i] = values[i] is null ? 0 : 1;
        }

        return levels;
    }

    /// <summary>
    /// The row group's distinct strings (<see cref="_entries"/>, in first-seen order) and each present value's
    /// index (<see cref="_indexes"/>); false when there are more than <see cref="MaxDictionary"/>.
    /// </summary>
    private bool TryDictionary(ReadOnlySpan<string?> strings, out int present)
    {
        _dictionary.Clear();
        _entries.Clear();
        if (_indexes.Length < strings.Length)
        {
            _indexes = new int[strings.Length];
        }

        present = 0;
        string? last = null;
        var lastIndex = 0;
        foreach (var value in strings)
        {
            if (value is null)
            {
                continue;
            }

            // Labels repeat the same few string instances: a reference check skips the hash most of the time.
            if (!ReferenceEquals(value, last))
            {
                if (!_dictionary.TryGetValue(value, out lastIndex))
                {
                    if (_entries.Count == MaxDictionary)
                    {
                        return false;
                    }

                    lastIndex = _entries.Count;
                    _dictionary.Add(value, lastIndex);
                    _entries.Add(value);
                }

                last = value;
            }

            _indexes[present++] = lastIndex;
        }

        return _entries.Count > 0;
    }

    private void PlainString(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var span = _page.GetSpan(4 + length);
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        Encoding.UTF8.GetBytes(text, span[4..]);
        _page.Advance(4 + length);
    }

    /// <summary>FLOAT values of a <see cref="Column.Single"/> column (floats the reader widened: exact).</summary>
    private void PlainSingles(ReadOnlySpan<double> values)
    {
        var floats = MemoryMarshal.Cast<byte, float>(_page.GetSpan(values.Length * sizeof(float)))[..values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            floats[i] = (float)values[i];
        }

        _page.Advance(values.Length * sizeof(float));
    }

    private void PlainBooleans(ReadOnlySpan<bool> values)
    {
        var bytes = _page.GetSpan((values.Length + 7) / 8);
        bytes[..((values.Length + 7) / 8)].Clear();
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i])
            {
                bytes[i >> 3] |= (byte)(1 << (i & 7));
            }
        }

        _page.Advance((values.Length + 7) / 8);
    }

    /// <summary>A flat OPTIONAL column's levels (bit width 1): one run when every row is present, else bit-packed.</summary>
    private void DefinitionLevels(ReadOnlySpan<int> levels, bool allPresent)
    {
        var start = BeginLevels();
        if (allPresent)
        {
            RleRun(levels.Length, 1, 1);
        }
        else
        {
            BitPacked(levels, 1);
        }

        EndLevels(start);
    }

    /// <summary>Repetition levels of lists of <paramref name="per"/> values: 0 starts a row's list, 1 continues it.</summary>
    private void RepetitionLevels(int rows, int per)
    {
        var start = BeginLevels();
        if (per == 1)
        {
            RleRun(rows, 0, 1);
        }
        else if (per >= 16)
        {
            for (var r = 0; r < rows; r++)
            {
                RleRun(1, 0, 1);
                RleRun(per - 1, 1, 1);
            }
        }
        else
        {
            var total = rows * per;
            var groups = (total + 7) / 8;
            Varint(((uint)groups << 1) | 1);
            var bytes = _page.GetSpan(groups)[..groups];
            bytes.Clear();
            for (var i = 0; i < total; i++)
            {
                if (i % per != 0)
                {
                    bytes[i >> 3] |= (byte)(1 << (i & 7));
                }
            }

            _page.Advance(groups);
        }

        EndLevels(start);
    }

    /// <summary>Data page v1 levels start with their byte length (4 bytes, little-endian), filled in by <see cref="EndLevels"/>.</summary>
    private int BeginLevels()
    {
        var start = _page.WrittenCount;
        _page.GetSpan(4)[..4].Clear();
        _page.Advance(4);
        return start;
    }

    private void EndLevels(int start)
    {
        var written = MemoryMarshal.AsMemory(_page.WrittenMemory).Span;
        BinaryPrimitives.WriteInt32LittleEndian(written[start..], _page.WrittenCount - start - 4);
    }

    /// <summary>An RLE run of the hybrid encoding: <paramref name="count"/> times <paramref name="value"/>.</summary>
    private void RleRun(int count, int value, int bitWidth)
    {
        Varint((uint)count << 1);
        var span = _page.GetSpan(4);
        var bytes = (bitWidth + 7) / 8;
        for (var i = 0; i < bytes; i++)
        {
            span[i] = (byte)(value >> (8 * i));
        }

        _page.Advance(bytes);
    }

    /// <summary>One bit-packed run of the hybrid encoding (LSB first, padded to a multiple of 8 values).</summary>
    private void BitPacked(ReadOnlySpan<int> values, int bitWidth)
    {
        var groups = (values.Length + 7) / 8;
        Varint(((uint)groups << 1) | 1);
        var length = groups * bitWidth;
        var bytes = _page.GetSpan(length)[..length];
        bytes.Clear();
        var bit = 0L;
        foreach (var value in values)
        {
            for (var b = 0; b < bitWidth; b++, bit++)
            {
                if ((value >> b & 1) != 0)
                {
                    bytes[(int)(bit >> 3)] |= (byte)(1 << (int)(bit & 7));
                }
            }
        }

        _page.Advance(length);
    }

    private static int BitWidth(int max) => Math.Max(1, 32 - int.LeadingZeroCount(max));

    private void Varint(uint value) => ThriftCompact.WriteVarint(_page, value);

    /// <summary>Compresses the page buffer into the row group after its header; returns the sizes with the header.</summary>
    private (long Uncompressed, long Compressed) WritePage(int type, int values, int encoding)
    {
        var raw = _page.WrittenSpan;
        var max = Snappy.GetMaxCompressedLength(raw.Length);
        if (_compressed.Length < max)
        {
            _compressed = new byte[Math.Max(max, _compressed.Length * 2)];
        }

        var compressed = Snappy.Compress(raw, _compressed);
        var before = _group.WrittenCount;
        var thrift = _thrift!;
        thrift.Begin();
        thrift.I32(1, type);
        thrift.I32(2, raw.Length);
        thrift.I32(3, compressed);
        if (type == PageData)
        {
            thrift.Struct(5);
            thrift.I32(1, values);
            thrift.I32(2, encoding);
            thrift.I32(3, EncodingRle);
            thrift.I32(4, EncodingRle);
            thrift.End();
        }
        else
        {
            thrift.Struct(7);
            thrift.I32(1, values);
            thrift.I32(2, encoding);
            thrift.End();
        }

        thrift.End();
        var header = _group.WrittenCount - before;
        _group.Write(_compressed.AsSpan(0, compressed));
        var result = ((long)header + raw.Length, (long)header + compressed);
        _page.Clear();
        return result;
    }

    private void WriteFooter(ThriftWriter thrift)
    {
        thrift.Begin();
        thrift.I32(1, 1);
        var elements = 1 + columns.Sum(c => c.Kind == ColumnKind.FloatList ? 3 : 1);
        thrift.List(2, ThriftCompact.Struct, elements);
        thrift.Begin();
        thrift.String(4, "schema");
        thrift.I32(5, columns.Count);
        thrift.End();
        foreach (var column in columns)
        {
            WriteSchema(thrift, column);
        }

        thrift.I64(3, _groups.Sum(g => (long)g.Rows));
        thrift.List(4, ThriftCompact.Struct, _groups.Count);
        for (var g = 0; g < _groups.Count; g++)
        {
            var (rows, chunks) = _groups[g];
            thrift.Begin();
            thrift.List(1, ThriftCompact.Struct, chunks.Length);
            for (var c = 0; c < chunks.Length; c++)
            {
                WriteChunkMetaData(thrift, columns[c], chunks[c]);
            }

            thrift.I64(2, chunks.Sum(k => k.Uncompressed));
            thrift.I64(3, rows);
            thrift.I64(5, chunks[0].Start);
            thrift.I64(6, chunks.Sum(k => k.Compressed));
            thrift.I32(7, g);
            thrift.End();
        }

        thrift.String(6, "pronto");
        thrift.End();
    }

    private static void WriteSchema(ThriftWriter thrift, Column column)
    {
        if (column.Kind == ColumnKind.FloatList)
        {
            // optional group NAME (LIST) { repeated group list { required float element; } }
            thrift.Begin();
            thrift.I32(3, Optional);
            thrift.String(4, column.Name);
            thrift.I32(5, 1);
            thrift.I32(6, ConvertedList);
            thrift.Struct(10);
            thrift.Struct(3);
            thrift.End();
            thrift.End();
            thrift.End();
            thrift.Begin();
            thrift.I32(3, Repeated);
            thrift.String(4, "list");
            thrift.I32(5, 1);
            thrift.End();
            thrift.Begin();
            thrift.I32(1, TypeFloat);
            thrift.I32(3, Required);
            thrift.String(4, "element");
            thrift.End();
            return;
        }

        thrift.Begin();
        thrift.I32(1, PhysicalType(column));
        thrift.I32(3, column.Kind == ColumnKind.Float ? Required : Optional);
        thrift.String(4, column.Name);
        if (column.Kind == ColumnKind.String)
        {
            thrift.I32(6, ConvertedUtf8);
            thrift.Struct(10);
            thrift.Struct(1);
            thrift.End();
            thrift.End();
        }

        thrift.End();
    }

    private static void WriteChunkMetaData(ThriftWriter thrift, Column column, Chunk chunk)
    {
        thrift.Begin();
        thrift.I64(2, chunk.Start);
        thrift.Struct(3);
        thrift.I32(1, PhysicalType(column));
        var dictionary = chunk.DictionaryPage is not null;
        thrift.List(2, ThriftCompact.I32, dictionary ? 3 : 2);
        thrift.I32Element(EncodingPlain);
        thrift.I32Element(EncodingRle);
        if (dictionary)
        {
            thrift.I32Element(EncodingRleDictionary);
        }

        if (column.Kind == ColumnKind.FloatList)
        {
            thrift.List(3, ThriftCompact.Binary, 3);
            thrift.StringElement(column.Name);
            thrift.StringElement("list");
            thrift.StringElement("element");
        }
        else
        {
            thrift.List(3, ThriftCompact.Binary, 1);
            thrift.StringElement(column.Name);
        }

        thrift.I32(4, CodecSnappy);
        thrift.I64(5, chunk.Values);
        thrift.I64(6, chunk.Uncompressed);
        thrift.I64(7, chunk.Compressed);
        thrift.I64(9, chunk.DataPage);
        if (chunk.DictionaryPage is { } offset)
        {
            thrift.I64(11, offset);
        }

        thrift.End();
        thrift.End();
    }

    private static int PhysicalType(Column column) => column.Kind switch
    {
        ColumnKind.Int64 => TypeInt64,
        ColumnKind.Double => column.Single ? TypeFloat : TypeDouble,
        ColumnKind.Bool => TypeBoolean,
        ColumnKind.Float or ColumnKind.FloatList => TypeFloat,
        _ => TypeByteArray,
    };
}
