using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Pronto.Batch.Output;

/// <summary>
/// Concatenates Parquet files of one schema into one file by copying their column chunks as bytes: no page is
/// decompressed, decoded or encoded again. Each file's data (everything between the leading magic and the footer)
/// is appended as it is; the new footer is the first file's, with the row count summed and the row groups of all
/// files listed in order, every absolute offset in them (row group, column chunk, data / dictionary / index
/// pages, page indexes, bloom filter) moved by where that file's data landed. Parquet.Net's FileMerger decodes
/// and re-encodes every row group instead, which cost as much CPU as encoding the parts did.
/// </summary>
internal static partial class ParquetConcatenation
{
    private static ReadOnlySpan<byte> Magic => ParquetPartWriter.Magic;

    // FileMetaData: num_rows, row_groups. RowGroup: columns, file_offset, ordinal. ColumnChunk: file_offset,
    // meta_data, offset_index_offset, column_index_offset. ColumnMetaData: data_page_offset, index_page_offset,
    // dictionary_page_offset, bloom_filter_offset. (parquet.thrift field ids)
    private const short FileSchema = 2;
    private const short FileNumRows = 3;
    private const short FileRowGroups = 4;
    private const short GroupColumns = 1;
    private const short GroupFileOffset = 5;
    private const short GroupOrdinal = 7;
    private const short ChunkFileOffset = 2;
    private const short ChunkMetaData = 3;
    private const short ChunkOffsetIndexOffset = 4;
    private const short ChunkColumnIndexOffset = 6;

    private static bool IsMetaDataOffset(short id) => id is 9 or 10 or 11 or 14;

    /// <summary>Writes the concatenation of <paramref name="files"/> (at least one) to <paramref name="destination"/>.</summary>
    public static async Task ConcatenateAsync(IReadOnlyList<string> files, Stream destination, CancellationToken cancellationToken)
    {
        await destination.WriteAsync(Magic.ToArray(), cancellationToken);
        long position = Magic.Length;
        long rows = 0;
        var groups = 0;
        var rowGroups = new ArrayBufferWriter<byte>();
        byte[]? first = null;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            foreach (var file in files)
            {
                await using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                var footer = await ReadFooterAsync(source, file, cancellationToken);
                var dataLength = source.Length - 8 - footer.Length - Magic.Length;
                source.Position = Magic.Length;
                var left = await CopyInKernelAsync(source, destination, dataLength, cancellationToken);
                for (; left > 0;)
                {
                    var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
                    if (n == 0)
                    {
                        throw new InvalidDataException($"'{file}' ended while its data was copied");
                    }

                    await destination.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    left -= n;
                }

                first ??= footer;
                if (!FieldOf(footer, FileSchema).SequenceEqual(FieldOf(first, FileSchema)))
                {
                    throw new InvalidDataException($"'{file}' has another schema than '{files[0]}'");
                }

                rows += AppendRowGroups(footer, position - Magic.Length, rowGroups, ref groups, file);
                position += dataLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var output = new ArrayBufferWriter<byte>();
        WriteFooter(first!, rows, groups, rowGroups.WrittenSpan, output);
        ThriftCompact.WriteInt32LittleEndian(output, output.WrittenCount);
        output.Write(Magic);
        await destination.WriteAsync(output.WrittenMemory, cancellationToken);
    }

    /// <summary>
    /// Copies <paramref name="length"/> bytes from <paramref name="source"/>'s position to the end of
    /// <paramref name="destination"/> with copy_file_range (Linux): the kernel copies page cache to page cache, or
    /// shares the blocks on file systems with reflinks (XFS, Btrfs), instead of a read and a write through a buffer.
    /// Returns what is left to copy the ordinary way (all of it where the call is not available).
    /// </summary>
    private static async Task<long> CopyInKernelAsync(FileStream source, Stream destination, long length, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux() || destination is not FileStream target)
        {
            return length;
        }

        await target.FlushAsync(ct);
        var input = source.Position;
        var output = target.Position;
        var left = length;
        while (left > 0)
        {
            ct.ThrowIfCancellationRequested();
            var copied = Native.CopyFileRange(source.SafeFileHandle, ref input, target.SafeFileHandle, ref output, (nuint)Math.Min(left, 1L << 30), 0);
            if (copied <= 0)
            {
                // Not supported here (an old kernel, across file systems, a special file): the caller copies the rest.
                break;
            }

            left -= copied;
        }

        source.Position = input;
        target.Position = output;
        return left;
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
        public static partial nint CopyFileRange(SafeHandle input, ref long inputOffset, SafeHandle output, ref long outputOffset, nuint length, uint flags);
    }

    private static async Task<byte[]> ReadFooterAsync(FileStream source, string file, CancellationToken ct)
    {
        var tail = new byte[8];
        if (source.Length < 12)
        {
            throw new InvalidDataException($"'{file}' is too short to be a Parquet file");
        }

        source.Position = source.Length - 8;
        await source.ReadExactlyAsync(tail, ct);
        var length = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (!tail.AsSpan(4).SequenceEqual(Magic) || length <= 0 || length > source.Length - 12)
        {
            throw new InvalidDataException($"'{file}' has no plain Parquet footer");
        }

        var footer = new byte[length];
        source.Position = source.Length - 8 - length;
        await source.ReadExactlyAsync(footer, ct);
        return footer;
    }

    /// <summary>The bytes of one top-level field of a footer (empty when absent).</summary>
    private static ReadOnlySpan<byte> FieldOf(ReadOnlySpan<byte> footer, short wanted)
    {
        var reader = new ThriftCompact(footer);
        short id = 0;
        while (true)
        {
            var (type, field) = reader.ReadFieldHeader(id);
            if (type == ThriftCompact.Stop)
            {
                return [];
            }

            var start = reader.Position;
            reader.Skip(type);
            if (field == wanted)
            {
                return footer[start..reader.Position];
            }

            id = field;
        }
    }

    /// <summary>Appends the footer's row groups, offsets moved by <paramref name="delta"/>, to <paramref name="output"/>; returns its row count.</summary>
    private static long AppendRowGroups(ReadOnlySpan<byte> footer, long delta, ArrayBufferWriter<byte> output, ref int groups, string file)
    {
        var reader = new ThriftCompact(footer);
        long rows = 0;
        short id = 0;
        while (true)
        {
            var (type, field) = reader.ReadFieldHeader(id);
            if (type == ThriftCompact.Stop)
            {
                return rows;
            }

            if (field == FileNumRows && type == ThriftCompact.I64)
            {
                rows = reader.ReadInteger();
            }
            else if (field == FileRowGroups && type == ThriftCompact.List)
            {
                var (element, count) = reader.ReadListHeader();
                if (element != ThriftCompact.Struct)
                {
                    throw new InvalidDataException($"'{file}': the footer's row groups are not structs");
                }

                for (var i = 0; i < count; i++)
                {
                    RewriteStruct(ref reader, output, delta, groups++, Level.RowGroup);
                }
            }
            else
            {
                reader.Skip(type);
            }

            id = field;
        }
    }

    private enum Level
    {
        RowGroup,
        ColumnChunk,
        ColumnMetaData,
    }

    /// <summary>Copies one struct of the footer, moving its absolute offsets by <paramref name="delta"/> (and numbering a row group's ordinal).</summary>
    private static void RewriteStruct(ref ThriftCompact reader, ArrayBufferWriter<byte> output, long delta, int ordinal, Level level)
    {
        short id = 0;
        while (true)
        {
            var start = reader.Position;
            var (type, field) = reader.ReadFieldHeader(id);
            if (type == ThriftCompact.Stop)
            {
                output.Write([ThriftCompact.Stop]);
                return;
            }

            // The header stays as it was: the same fields follow in the same order, so id deltas still hold.
            output.Write(reader.Slice(start, reader.Position));
            var offset = type == ThriftCompact.I64 && level switch
            {
                Level.RowGroup => field == GroupFileOffset,
                Level.ColumnChunk => field is ChunkFileOffset or ChunkOffsetIndexOffset or ChunkColumnIndexOffset,
                _ => IsMetaDataOffset(field),
            };
            if (offset)
            {
                ThriftCompact.WriteInteger(output, reader.ReadInteger() + delta);
            }
            else if (level == Level.RowGroup && field == GroupOrdinal && type == ThriftCompact.I16)
            {
                reader.ReadInteger();
                ThriftCompact.WriteInteger(output, checked((short)ordinal));
            }
            else if (level == Level.RowGroup && field == GroupColumns && type == ThriftCompact.List)
            {
                var header = reader.Position;
                var (element, count) = reader.ReadListHeader();
                output.Write(reader.Slice(header, reader.Position));
                for (var i = 0; i < count; i++)
                {
                    if (element != ThriftCompact.Struct)
                    {
                        throw new InvalidDataException("Parquet footer: a row group's columns are not structs");
                    }

                    RewriteStruct(ref reader, output, delta, ordinal, Level.ColumnChunk);
                }
            }
            else if (level == Level.ColumnChunk && field == ChunkMetaData && type == ThriftCompact.Struct)
            {
                RewriteStruct(ref reader, output, delta, ordinal, Level.ColumnMetaData);
            }
            else
            {
                var value = reader.Position;
                reader.Skip(type);
                output.Write(reader.Slice(value, reader.Position));
            }

            id = field;
        }
    }

    /// <summary>The first file's footer with <paramref name="rows"/> and the concatenated row groups in place of its own.</summary>
    private static void WriteFooter(ReadOnlySpan<byte> first, long rows, int groups, ReadOnlySpan<byte> rowGroups, ArrayBufferWriter<byte> output)
    {
        var reader = new ThriftCompact(first);
        short id = 0;
        while (true)
        {
            var start = reader.Position;
            var (type, field) = reader.ReadFieldHeader(id);
            if (type == ThriftCompact.Stop)
            {
                output.Write([ThriftCompact.Stop]);
                return;
            }

            output.Write(reader.Slice(start, reader.Position));
            if (field == FileNumRows && type == ThriftCompact.I64)
            {
                reader.ReadInteger();
                ThriftCompact.WriteInteger(output, rows);
            }
            else if (field == FileRowGroups && type == ThriftCompact.List)
            {
                reader.Skip(type);
                ThriftCompact.WriteListHeader(output, ThriftCompact.Struct, groups);
                output.Write(rowGroups);
            }
            else
            {
                var value = reader.Position;
                reader.Skip(type);
                output.Write(reader.Slice(value, reader.Position));
            }

            id = field;
        }
    }
}
