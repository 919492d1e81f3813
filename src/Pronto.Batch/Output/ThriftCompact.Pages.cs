using Pronto.Batch.Input;

namespace Pronto.Batch.Output;

/// <summary>
/// Parquet's PageHeader, read for <see cref="Input.ParquetColumnDecoder"/>: the page's type, sizes and encodings,
/// from whichever of data_page_header, dictionary_page_header or data_page_header_v2 it holds. Fields this code
/// does not know (statistics, crc, newer additions) are skipped, so newer writers' headers still parse.
/// </summary>
internal ref partial struct ThriftCompact
{
    /// <summary>Reads one PageHeader struct from the current position (which ends just after it).</summary>
    public PageHeader ReadPageHeader()
    {
        var header = new PageHeader { Type = -1, UncompressedSize = -1, CompressedSize = -1, NumValues = -1, IsCompressed = true };
        short id = 0;
        while (ReadFieldHeader(id) is var (type, field) && type != Stop)
        {
            switch (field, type)
            {
                case (1, I32):
                    header.Type = ReadInt32();
                    break;
                case (2, I32):
                    header.UncompressedSize = ReadInt32();
                    break;
                case (3, I32):
                    header.CompressedSize = ReadInt32();
                    break;
                case (5 or 7 or 8, Struct):
                    ReadTypedHeader(field, ref header);
                    break;
                default:
                    Skip(type);
                    break;
            }

            id = field;
        }

        if (header.Type < 0 || header.UncompressedSize < 0 || header.CompressedSize < 0)
        {
            throw new InvalidDataException("the page header lacks its type or sizes");
        }

        return header;
    }

    /// <summary>
    /// The header of the page's type, field <paramref name="which"/> of PageHeader: 5 DataPageHeader {1 num_values,
    /// 2 encoding, 3 definition_level_encoding}, 7 DictionaryPageHeader {1 num_values, 2 encoding}, 8
    /// DataPageHeaderV2 {1 num_values, 2 num_nulls, 4 encoding, 5 definition_levels_byte_length,
    /// 6 repetition_levels_byte_length, 7 is_compressed (default true)}.
    /// </summary>
    private void ReadTypedHeader(short which, ref PageHeader header)
    {
        short id = 0;
        while (ReadFieldHeader(id) is var (type, field) && type != Stop)
        {
            switch (which, field, type)
            {
                case (_, 1, I32):
                    header.NumValues = ReadInt32();
                    break;
                case (5 or 7, 2, I32):
                case (8, 4, I32):
                    header.Encoding = ReadInt32();
                    break;
                case (5, 3, I32):
                    header.DefinitionEncoding = ReadInt32();
                    break;
                case (8, 2, I32):
                    header.NumNulls = ReadInt32();
                    break;
                case (8, 5, I32):
                    header.DefinitionBytes = ReadInt32();
                    break;
                case (8, 6, I32):
                    header.RepetitionBytes = ReadInt32();
                    break;
                case (8, 7, BoolTrue or BoolFalse):
                    // A struct field's bool is its header's type: nothing follows.
                    header.IsCompressed = type == BoolTrue;
                    break;
                default:
                    Skip(type);
                    break;
            }

            id = field;
        }
    }

    private int ReadInt32()
    {
        var value = ReadInteger();
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw new InvalidDataException($"a page header i32 holds {value}");
    }
}
