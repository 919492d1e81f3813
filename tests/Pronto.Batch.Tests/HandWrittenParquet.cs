using System.Buffers.Binary;
using Parquet.Meta;
using Snappier;
using PhysicalType = Parquet.Meta.Type;

namespace Pronto.Batch.Tests;

/// <summary>
/// A Parquet file written byte by byte, page by page as a test lays it out: the layouts Parquet.Net and DuckDB do
/// not write (several data pages per column chunk, v1 and v2 pages in one chunk, a dictionary page followed by
/// PLAIN pages as parquet-mr writes when its dictionary overflows, RLE booleans). Definition levels are bit-packed
/// in v1 pages and RLE runs in v2 pages.
/// </summary>
internal sealed class HandWrittenParquet
{
    private const int Plain = 0;
    private const int PlainDictionary = 2;
    private const int Rle = 3;
    private const int RleDictionary = 8;

    private readonly Column[] _columns;
    private readonly MemoryStream _file = new();
    private readonly List<(int Rows, List<ChunkMeta> Chunks)> _groups = [];

    public HandWrittenParquet(params Column[] columns)
    {
        _columns = columns;
        _file.Write("PAR1"u8);
    }

    /// <summary>A flat column: its physical type, OPTIONAL or REQUIRED, and its converted type if any.</summary>
    public sealed record Column(string Name, PhysicalType Type, bool Optional, ConvertedType? Converted = null);

    /// <summary>
    /// A data page of <paramref name="Values"/> rows; <paramref name="Dictionary"/>: indices into the chunk's
    /// dictionary page (not for booleans); <paramref name="RleBooleans"/>: booleans RLE-encoded (4-byte length, then
    /// the hybrid runs), not PLAIN.
    /// </summary>
    public readonly record struct Page(int Values, bool V2 = false, bool Dictionary = false, bool RleBooleans = false);

    private sealed record ChunkMeta(long Start, long DataStart, long Length, long Uncompressed, bool Snappy, List<int> Encodings);

    /// <summary>
    /// One row group: per column its values by row (int, long, float, double or bool; null for a null row), cut
    /// into <paramref name="pages"/> (the same layout for every column).
    /// </summary>
    public void AddRowGroup(bool snappy, IReadOnlyList<Page> pages, params object?[][] values)
    {
        var rows = values[0].Length;
        var chunks = new List<ChunkMeta>();
        for (var c = 0; c < _columns.Length; c++)
        {
            chunks.Add(WriteChunk(_columns[c], values[c], pages, snappy));
        }

        _groups.Add((rows, chunks));
    }

    private ChunkMeta WriteChunk(Column column, object?[] values, IReadOnlyList<Page> pages, bool snappy)
    {
        var start = _file.Position;
        var uncompressed = 0L;
        var encodings = new List<int> { Plain, Rle };
        var dictionary = new List<object>();
        var usesDictionary = column.Type != PhysicalType.BOOLEAN && pages.Any(p => p.Dictionary);
        if (usesDictionary)
        {
            var row = 0;
            foreach (var page in pages)
            {
                if (page.Dictionary)
                {
                    foreach (var value in values.AsSpan(row, page.Values))
                    {
                        if (value is not null && !dictionary.Contains(value))
                        {
                            dictionary.Add(value);
                        }
                    }
                }

                row += page.Values;
            }

            var body = PlainValues(column.Type, dictionary);
            uncompressed += WritePage(Header(2, body.Length, snappy ? Snappy.CompressToArray(body) : body, h => h.Struct(7, s => s.I32(1, dictionary.Count).I32(2, PlainDictionary))));
            encodings.Add(PlainDictionary);
        }

        var dataStart = _file.Position;
        var at = 0;
        foreach (var page in pages)
        {
            var slice = values.AsSpan(at, page.Values).ToArray();
            at += page.Values;
            var present = slice.OfType<object>().ToList();
            var dictionaryPage = usesDictionary && page.Dictionary;
            var encoding = dictionaryPage ? (page.V2 ? RleDictionary : PlainDictionary)
                : column.Type == PhysicalType.BOOLEAN && page.RleBooleans ? Rle
                : Plain;
            encodings.Add(encoding);
            var data = dictionaryPage ? Indices(present.Select(v => dictionary.IndexOf(v!)).ToArray(), dictionary.Count)
                : encoding == Rle ? LengthPrefixed(RleRuns(present.Select(v => (bool)v! ? 1 : 0).ToArray()))
                : PlainValues(column.Type, present);
            var levels = column.Optional ? slice.Select(v => v is null ? 0 : 1).ToArray() : [];
            if (page.V2)
            {
                var definition = column.Optional ? RleRuns(levels) : [];
                var stored = snappy ? Snappy.CompressToArray(data) : data;
                var nulls = slice.Length - present.Count;
                uncompressed += WritePage(Header(3, definition.Length + data.Length, [.. definition, .. stored], h => h.Struct(8, s => s
                    .I32(1, slice.Length).I32(2, nulls).I32(3, slice.Length).I32(4, encoding)
                    .I32(5, definition.Length).I32(6, 0).Bool(7, snappy))));
            }
            else
            {
                byte[] body = column.Optional ? [.. LengthPrefixed(BitPacked(levels, 1)), .. data] : data;
                uncompressed += WritePage(Header(0, body.Length, snappy ? Snappy.CompressToArray(body) : body, h => h.Struct(5, s => s
                    .I32(1, slice.Length).I32(2, encoding).I32(3, Rle).I32(4, Rle))));
            }
        }

        return new ChunkMeta(start, dataStart, _file.Position - start, uncompressed, snappy, [.. encodings.Distinct()]);
    }

    /// <summary>A page header (type, sizes, and its type's header from <paramref name="typed"/>) and the page's stored bytes.</summary>
    private static (byte[] Header, byte[] Stored, int Uncompressed) Header(int type, int uncompressed, byte[] stored, Func<Thrift, Thrift> typed)
    {
        var header = new Thrift().I32(1, type).I32(2, uncompressed).I32(3, stored.Length);
        return (typed(header).Stop().ToArray(), stored, uncompressed);
    }

    private long WritePage((byte[] Header, byte[] Stored, int Uncompressed) page)
    {
        _file.Write(page.Header);
        _file.Write(page.Stored);
        return page.Header.Length + page.Uncompressed;
    }

    private static byte[] PlainValues(PhysicalType type, IReadOnlyList<object> values)
    {
        if (type == PhysicalType.BOOLEAN)
        {
            return BitPacked([.. values.Select(v => (bool)v ? 1 : 0)], 1, groups: false);
        }

        var bytes = new List<byte>();
        foreach (var value in values)
        {
            bytes.AddRange(value switch
            {
                int i => BitConverter.GetBytes(i),
                long l => BitConverter.GetBytes(l),
                float f => BitConverter.GetBytes(f),
                double d => BitConverter.GetBytes(d),
                _ => throw new ArgumentException($"{value.GetType()} is not a value of {type}"),
            });
        }

        return [.. bytes];
    }

    /// <summary>Dictionary indices: their bit width (1 byte), then one bit-packed run.</summary>
    private static byte[] Indices(int[] indices, int entries)
    {
        var width = Math.Max(1, 32 - int.LeadingZeroCount(entries - 1));
        return [(byte)width, .. BitPacked(indices, width)];
    }

    /// <summary>
    /// Values <paramref name="width"/> bits each, LSB first; with <paramref name="groups"/> a hybrid bit-packed run
    /// (its header, whole groups of 8), without it the bare bits (PLAIN booleans).
    /// </summary>
    private static byte[] BitPacked(int[] values, int width, bool groups = true)
    {
        var count = groups ? (values.Length + 7) / 8 * 8 : values.Length;
        var bits = new byte[((count * width) + 7) / 8];
        for (var i = 0; i < values.Length; i++)
        {
            for (var b = 0; b < width; b++)
            {
                var bit = (i * width) + b;
                bits[bit >> 3] |= (byte)(((values[i] >> b) & 1) << (bit & 7));
            }
        }

        return groups ? [.. Varint((uint)(((count / 8) << 1) | 1)), .. bits] : bits;
    }

    /// <summary>RLE runs of 0 / 1 values (one byte each).</summary>
    private static byte[] RleRuns(int[] values)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < values.Length;)
        {
            var run = 1;
            while (i + run < values.Length && values[i + run] == values[i])
            {
                run++;
            }

            bytes.AddRange(Varint((uint)run << 1));
            bytes.Add((byte)values[i]);
            i += run;
        }

        return [.. bytes];
    }

    private static byte[] LengthPrefixed(byte[] data)
    {
        var bytes = new byte[4 + data.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, data.Length);
        data.CopyTo(bytes, 4);
        return bytes;
    }

    private static byte[] Varint(uint value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>The file: pages written so far, then the footer (FileMetaData) and its length.</summary>
    public byte[] ToArray()
    {
        var footer = new Thrift()
            .I32(1, 1)
            .List(2, _columns.Length + 1, (t, i) => i == 0
                ? t.Binary(4, "schema").I32(5, _columns.Length)
                : SchemaElement(t, _columns[i - 1]))
            .I64(3, _groups.Sum(g => (long)g.Rows))
            .List(4, _groups.Count, (t, g) => t
                .List(1, _columns.Length, (c, i) => ColumnChunk(c, _columns[i], _groups[g].Chunks[i], _groups[g].Rows))
                .I64(2, _groups[g].Chunks.Sum(c => c.Uncompressed))
                .I64(3, _groups[g].Rows))
            .Binary(6, "pronto tests (hand-written pages)")
            .Stop()
            .ToArray();
        var file = new MemoryStream();
        _file.WriteTo(file);
        file.Write(footer);
        file.Write(BitConverter.GetBytes(footer.Length));
        file.Write("PAR1"u8);
        return file.ToArray();
    }

    private static Thrift SchemaElement(Thrift t, Column column)
    {
        t.I32(1, (int)column.Type).I32(3, column.Optional ? (int)FieldRepetitionType.OPTIONAL : (int)FieldRepetitionType.REQUIRED).Binary(4, column.Name);
        return column.Converted is { } converted ? t.I32(6, (int)converted) : t;
    }

    private static Thrift ColumnChunk(Thrift t, Column column, ChunkMeta chunk, int rows) => t
        .I64(2, chunk.Start)
        .Struct(3, m =>
        {
            m.I32(1, (int)column.Type)
                .ListI32(2, chunk.Encodings)
                .ListBinary(3, [column.Name])
                .I32(4, chunk.Snappy ? (int)CompressionCodec.SNAPPY : (int)CompressionCodec.UNCOMPRESSED)
                .I64(5, rows)
                .I64(6, chunk.Uncompressed)
                .I64(7, chunk.Length)
                .I64(9, chunk.DataStart);
            return chunk.DataStart != chunk.Start ? m.I64(11, chunk.Start) : m;
        });

    /// <summary>The Thrift compact protocol, writing: the few field types a Parquet footer and page header use.</summary>
    private sealed class Thrift
    {
        private readonly List<byte> _bytes = [];
        private readonly Stack<short> _outer = new();
        private short _last;

        public Thrift I32(short id, int value) => Field(id, 5).Zigzag(value);

        public Thrift I64(short id, long value) => Field(id, 6).Zigzag(value);

        public Thrift Bool(short id, bool value) => Field(id, value ? (byte)1 : (byte)2);

        public Thrift Binary(short id, string value) => Field(id, 8).Element(value);

        /// <summary>A binary value (a field's or a list element): its length, then its UTF-8 bytes.</summary>
        private Thrift Element(string value)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(value);
            _bytes.AddRange(Varint((uint)bytes.Length));
            _bytes.AddRange(bytes);
            return this;
        }

        public Thrift Struct(short id, Func<Thrift, Thrift> fields)
        {
            Field(id, 12);
            return Nested(fields);
        }

        /// <summary>A list of <paramref name="count"/> structs, each written by <paramref name="element"/>.</summary>
        public Thrift List(short id, int count, Func<Thrift, int, Thrift> element) =>
            List(id, 12, [.. Enumerable.Range(0, count)], i => Nested(t => element(t, i)));

        public Thrift ListBinary(short id, IReadOnlyList<string> values) => List(id, 8, values, v => Element(v));

        public Thrift ListI32(short id, IReadOnlyList<int> values) => List(id, 5, values, v => Zigzag(v));

        public Thrift Stop()
        {
            _bytes.Add(0);
            return this;
        }

        public byte[] ToArray() => [.. _bytes];

        private Thrift Nested(Func<Thrift, Thrift> fields)
        {
            _outer.Push(_last);
            _last = 0;
            fields(this).Stop();
            _last = _outer.Pop();
            return this;
        }

        private Thrift List<T>(short id, byte elementType, IReadOnlyList<T> items, Action<T> element)
        {
            Field(id, 9);
            if (items.Count < 15)
            {
                _bytes.Add((byte)((items.Count << 4) | elementType));
            }
            else
            {
                _bytes.Add((byte)(0xF0 | elementType));
                _bytes.AddRange(Varint((uint)items.Count));
            }

            foreach (var item in items)
            {
                element(item);
            }

            return this;
        }

        private Thrift Field(short id, byte type)
        {
            var delta = id - _last;
            if (delta is > 0 and <= 15)
            {
                _bytes.Add((byte)((delta << 4) | type));
            }
            else
            {
                _bytes.Add(type);
                Zigzag(id);
            }

            _last = id;
            return this;
        }

        private Thrift Zigzag(long value)
        {
            var zigzag = (ulong)((value << 1) ^ (value >> 63));
            while (zigzag >= 0x80)
            {
                _bytes.Add((byte)(zigzag | 0x80));
                zigzag >>= 7;
            }

            _bytes.Add((byte)zigzag);
            return this;
        }
    }
}
