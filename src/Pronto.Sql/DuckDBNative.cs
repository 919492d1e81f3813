using System.Runtime.InteropServices;

namespace Pronto.Sql;

/// <summary>
/// The few DuckDB C API calls DuckDB.NET's managed UDF layer does not reach: a scalar function returning a
/// fixed-size ARRAY (<c>FLOAT[n]</c>), which <c>pronto_embed</c> needs so DuckDB's <c>array_*</c> functions
/// accept it. The library is the same <c>libduckdb</c> DuckDB.NET.Bindings.Full ships.
/// </summary>
internal static unsafe partial class DuckDBNative
{
    private const string Library = "duckdb";

    public const int TypeFloat = 10;
    public const int TypeVarchar = 17;

    /// <summary>Size of one <c>duckdb_string_t</c>: a length, then 12 inlined bytes or a 4-byte prefix and a pointer.</summary>
    public const int StringSize = 16;

    [LibraryImport(Library, EntryPoint = "duckdb_create_scalar_function")]
    public static partial IntPtr CreateScalarFunction();

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_scalar_function")]
    public static partial void DestroyScalarFunction(ref IntPtr function);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void ScalarFunctionSetName(IntPtr function, string name);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_add_parameter")]
    public static partial void ScalarFunctionAddParameter(IntPtr function, IntPtr type);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_return_type")]
    public static partial void ScalarFunctionSetReturnType(IntPtr function, IntPtr type);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_special_handling")]
    public static partial void ScalarFunctionSetSpecialHandling(IntPtr function);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_function")]
    public static partial void ScalarFunctionSetFunction(IntPtr function, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, void> callback);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_extra_info")]
    public static partial void ScalarFunctionSetExtraInfo(IntPtr function, IntPtr extraInfo, delegate* unmanaged[Cdecl]<IntPtr, void> destroy);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_get_extra_info")]
    public static partial IntPtr ScalarFunctionGetExtraInfo(IntPtr info);

    [LibraryImport(Library, EntryPoint = "duckdb_scalar_function_set_error", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void ScalarFunctionSetError(IntPtr info, string error);

    [LibraryImport(Library, EntryPoint = "duckdb_register_scalar_function")]
    public static partial int RegisterScalarFunction(IntPtr connection, IntPtr function);

    [LibraryImport(Library, EntryPoint = "duckdb_create_logical_type")]
    public static partial IntPtr CreateLogicalType(int type);

    [LibraryImport(Library, EntryPoint = "duckdb_create_array_type")]
    public static partial IntPtr CreateArrayType(IntPtr childType, ulong size);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_logical_type")]
    public static partial void DestroyLogicalType(ref IntPtr type);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_get_size")]
    public static partial ulong DataChunkGetSize(IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_get_column_count")]
    public static partial ulong DataChunkGetColumnCount(IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_get_vector")]
    public static partial IntPtr DataChunkGetVector(IntPtr chunk, ulong index);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_get_data")]
    public static partial void* VectorGetData(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_get_validity")]
    public static partial ulong* VectorGetValidity(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_ensure_validity_writable")]
    public static partial void VectorEnsureValidityWritable(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_array_vector_get_child")]
    public static partial IntPtr ArrayVectorGetChild(IntPtr vector);

    /// <summary>A row is valid when the mask is absent (all valid) or its bit is set.</summary>
    public static bool IsValid(ulong* validity, ulong row) =>
        validity is null || (validity[row / 64] & (1UL << (int)(row % 64))) != 0;

    public static void SetInvalid(ulong* validity, ulong row) =>
        validity[row / 64] &= ~(1UL << (int)(row % 64));

    /// <summary>The bytes of row <paramref name="row"/> of a flat VARCHAR vector (valid until the chunk is released).</summary>
    public static ReadOnlySpan<byte> ReadString(byte* data, ulong row)
    {
        var entry = data + (row * StringSize);
        var length = *(uint*)entry;
        var bytes = length <= 12 ? entry + 4 : *(byte**)(entry + 8);
        return new ReadOnlySpan<byte>(bytes, (int)length);
    }
}
