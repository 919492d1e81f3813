using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using DuckDB.NET.Data;
using Pronto.Core.Errors;
using Pronto.Core.Repository;

namespace Pronto.Sql;

/// <summary>
/// <c>pronto_embed(model, text)</c> -> <c>FLOAT[n]</c>, registered through the C API because DuckDB.NET's UDFs
/// cannot return a fixed-size ARRAY (and DuckDB's <c>array_cosine_similarity</c> takes only arrays). The callback
/// is an <see cref="UnmanagedCallersOnlyAttribute"/> function: every exception is caught inside it and reported with
/// <c>duckdb_scalar_function_set_error</c>, never thrown across the native boundary. Each chunk's non-NULL texts go
/// to the engine together, split at the model's max_batch_size, and are written straight into the array's child
/// vector.
/// </summary>
internal sealed unsafe class EmbedFunction
{
    public const string Name = "pronto_embed";

    private readonly ProntoSqlFunctions _functions;
    private readonly int _dimensions;

    private EmbedFunction(ProntoSqlFunctions functions, int dimensions)
    {
        _functions = functions;
        _dimensions = dimensions;
    }

    /// <summary>The common embedding size of the loaded text models that declare one (0 if none; the largest count wins a tie).</summary>
    public static int LoadedDimensions(ModelRepository repository)
    {
        var counts = new Dictionary<int, int>();
        foreach (var model in repository.ReadyModels())
        {
            SqlModel sql;
            try
            {
                sql = SqlModel.Resolve(repository, model.Name);
            }
            catch (ProntoException)
            {
                continue;
            }

            if (sql is { Kind: SqlInputKind.Text, IsEmbedding: true })
            {
                counts[sql.EmbeddingDimensions] = counts.GetValueOrDefault(sql.EmbeddingDimensions) + 1;
            }
        }

        return counts.Count == 0 ? 0 : counts.MaxBy(c => (c.Value, c.Key)).Key;
    }

    public static void Register(DuckDBConnection connection, ProntoSqlFunctions functions, int dimensions)
    {
        var state = GCHandle.Alloc(new EmbedFunction(functions, dimensions));
        var function = DuckDBNative.CreateScalarFunction();
        var varchar = DuckDBNative.CreateLogicalType(DuckDBNative.TypeVarchar);
        var element = DuckDBNative.CreateLogicalType(DuckDBNative.TypeFloat);
        var array = DuckDBNative.CreateArrayType(element, (ulong)dimensions);
        try
        {
            DuckDBNative.ScalarFunctionSetName(function, Name);
            DuckDBNative.ScalarFunctionAddParameter(function, varchar);
            DuckDBNative.ScalarFunctionAddParameter(function, varchar);
            DuckDBNative.ScalarFunctionSetReturnType(function, array);
            DuckDBNative.ScalarFunctionSetSpecialHandling(function);
            DuckDBNative.ScalarFunctionSetFunction(function, &Execute);

            // DuckDB owns the handle from here and frees it (Destroy) when the function goes away with the database.
            DuckDBNative.ScalarFunctionSetExtraInfo(function, GCHandle.ToIntPtr(state), &Destroy);
            if (DuckDBNative.RegisterScalarFunction(connection.NativeConnection.DangerousGetHandle(), function) != 0)
            {
                throw new InvalidOperationException($"DuckDB refused to register {Name}");
            }
        }
        finally
        {
            DuckDBNative.DestroyLogicalType(ref array);
            DuckDBNative.DestroyLogicalType(ref element);
            DuckDBNative.DestroyLogicalType(ref varchar);
            DuckDBNative.DestroyScalarFunction(ref function);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Execute(IntPtr info, IntPtr input, IntPtr output)
    {
        try
        {
            var self = (EmbedFunction)GCHandle.FromIntPtr(DuckDBNative.ScalarFunctionGetExtraInfo(info)).Target!;
            self.Execute(input, output);
        }
        catch (Exception e)
        {
            // Never across the boundary: DuckDB turns this into the query's error.
            DuckDBNative.ScalarFunctionSetError(info, e is ProntoException ? e.Message : $"{Name}: {e.Message}");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Destroy(IntPtr state)
    {
        try
        {
            GCHandle.FromIntPtr(state).Free();
        }
        catch (InvalidOperationException)
        {
            // Already freed: nothing to do, and nothing may escape.
        }
    }

    private void Execute(IntPtr input, IntPtr output)
    {
        var rowCount = DuckDBNative.DataChunkGetSize(input);
        var modelVector = DuckDBNative.DataChunkGetVector(input, 0);
        var textVector = DuckDBNative.DataChunkGetVector(input, 1);
        var models = (byte*)DuckDBNative.VectorGetData(modelVector);
        var texts = (byte*)DuckDBNative.VectorGetData(textVector);
        var modelValidity = DuckDBNative.VectorGetValidity(modelVector);
        var textValidity = DuckDBNative.VectorGetValidity(textVector);
        var target = (float*)DuckDBNative.VectorGetData(DuckDBNative.ArrayVectorGetChild(output));

        var names = new string?[rowCount];
        var distinct = new List<string>(1);
        string? previous = null;
        byte[] previousBytes = [];
        for (ulong row = 0; row < rowCount; row++)
        {
            if (!DuckDBNative.IsValid(modelValidity, row) || !DuckDBNative.IsValid(textValidity, row))
            {
                DuckDBNative.VectorEnsureValidityWritable(output);
                DuckDBNative.SetInvalid(DuckDBNative.VectorGetValidity(output), row);
                continue;
            }

            // The model name is nearly always the same on every row: decode it only when its bytes change.
            var bytes = DuckDBNative.ReadString(models, row);
            if (previous is null || !bytes.SequenceEqual(previousBytes))
            {
                previousBytes = bytes.ToArray();
                previous = Encoding.UTF8.GetString(bytes);
            }

            var name = previous;
            names[row] = name;
            if (!distinct.Contains(name))
            {
                distinct.Add(name);
            }
        }

        foreach (var model in distinct)
        {
            try
            {
                Embed(model, names, texts, target);
            }
            catch (ProntoException e)
            {
                throw _functions.Fail(Name, model, e);
            }
        }
    }

    private void Embed(string model, string?[] names, byte* texts, float* target)
    {
        var sql = SqlModel.Resolve(_functions.Service.Repository, model);
        if (sql.Kind != SqlInputKind.Text || !sql.IsEmbedding)
        {
            throw new ProntoException(ErrorCode.InvalidArgument, $"model '{model}' is not a text-embedding model; pronto_embed takes a model with text preparation and an embedding output");
        }

        if (sql.EmbeddingDimensions != _dimensions)
        {
            throw new ProntoException(ErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                $"model '{model}' embeds to {sql.EmbeddingDimensions} dimensions, but pronto_embed on this connection returns FLOAT[{_dimensions}] (fixed when the functions were registered)"));
        }

        var rows = new List<ulong>(names.Length);
        for (ulong row = 0; row < (ulong)names.Length; row++)
        {
            if (names[row] == model)
            {
                rows.Add(row);
            }
        }

        var batch = sql.MaxBatchSize > 0 ? sql.MaxBatchSize : Math.Max(rows.Count, 1);
        for (var start = 0; start < rows.Count; start += batch)
        {
            var count = Math.Min(batch, rows.Count - start);
            var items = new ReadOnlyMemory<byte>[count];
            for (var i = 0; i < count; i++)
            {
                items[i] = DuckDBNative.ReadString(texts, rows[start + i]).ToArray();
            }

            var response = _functions.Run(model, SqlModel.TextInputs(items), count);
            var embedding = response.Outputs[0].Tensor.Span<float>();
            if (embedding.Length != count * _dimensions)
            {
                throw new ProntoException(ErrorCode.Internal, $"model '{model}' returned {response.Outputs[0].Tensor}, expected [{count},{_dimensions}]");
            }

            for (var i = 0; i < count; i++)
            {
                embedding.Slice(i * _dimensions, _dimensions).CopyTo(new Span<float>(target + ((long)rows[start + i] * _dimensions), _dimensions));
            }
        }
    }
}
