namespace Pronto.Batch.Input;

/// <summary>The fields of a Parquet PageHeader that the column decoder uses (-1 where a required one is absent).</summary>
internal struct PageHeader
{
    public const int DataPage = 0;
    public const int DictionaryPage = 2;
    public const int DataPageV2 = 3;

    /// <summary>DATA_PAGE = 0, INDEX_PAGE = 1, DICTIONARY_PAGE = 2, DATA_PAGE_V2 = 3.</summary>
    public int Type;

    /// <summary>The page's bytes after the header once decompressed (v2: levels included).</summary>
    public int UncompressedSize;

    /// <summary>The page's bytes after the header as stored.</summary>
    public int CompressedSize;

    /// <summary>Values (null rows included) of a data page; entries of a dictionary page.</summary>
    public int NumValues;

    /// <summary>The values' encoding (PLAIN = 0, PLAIN_DICTIONARY = 2, RLE = 3, RLE_DICTIONARY = 8).</summary>
    public int Encoding;

    /// <summary>v1 only: the definition levels' encoding (RLE = 3, BIT_PACKED = 4).</summary>
    public int DefinitionEncoding;

    /// <summary>v2 only.</summary>
    public int NumNulls;

    /// <summary>v2 only: the definition levels' bytes (never compressed).</summary>
    public int DefinitionBytes;

    /// <summary>v2 only: the repetition levels' bytes (never compressed).</summary>
    public int RepetitionBytes;

    /// <summary>v2 only: whether the values (not the levels) are compressed with the chunk's codec.</summary>
    public bool IsCompressed;
}
