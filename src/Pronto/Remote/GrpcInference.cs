using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Pronto.Core.Errors;
using Pronto.Server.Grpc.Protocol;

namespace Pronto.Remote;

/// <summary>
/// The facade's requests over OIP v2 gRPC (<c>inference.GRPCInferenceService/ModelInfer</c>): BYTES items as
/// <c>bytes_contents</c>, the FP32 output read from <c>raw_output_contents</c> (or <c>fp32_contents</c>). Server errors
/// come back as the <see cref="ProntoException"/> the same call raises in-process, with the server's message.
/// </summary>
internal sealed class GrpcInference(GRPCInferenceService.GRPCInferenceServiceClient client, Metadata headers) : ProntoInference
{
    public override async Task<(string Model, float[] Values)> RunAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, CancellationToken cancellationToken)
    {
        var response = await InferAsync(Request(model, input, items, new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output }), cancellationToken).ConfigureAwait(false);
        var (index, tensor) = Output(response, output, "FP32");
        float[] values;
        if (index < response.RawOutputContents.Count)
        {
            var raw = response.RawOutputContents[index].Span;
            values = MemoryMarshal.Cast<byte, float>(raw).ToArray();
        }
        else
        {
            values = [.. tensor.Contents.Fp32Contents];
        }

        return (response.ModelName, values);
    }

    /// <summary>The labels through Triton's classification extension: the output asked for with <c>classification: classes</c>.</summary>
    public override async Task<string[]> LabelsAsync(string model, string input, ReadOnlyMemory<byte>[] items, string output, int classes, CancellationToken cancellationToken)
    {
        var requested = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output };
        requested.Parameters.Add("classification", new InferParameter { Int64Param = classes });
        var response = await InferAsync(Request(model, input, items, requested), cancellationToken).ConfigureAwait(false);
        var (index, tensor) = Output(response, output, "BYTES");
        var elements = index < response.RawOutputContents.Count
            ? RawStrings(response.RawOutputContents[index].Memory)
            : [.. tensor.Contents.BytesContents.Select(b => b.ToStringUtf8())];
        var labels = new string[classes];
        foreach (var element in elements)
        {
            // "score:index:label"; the label may hold ':' itself.
            var first = element.IndexOf(':', StringComparison.Ordinal);
            var second = first < 0 ? -1 : element.IndexOf(':', first + 1);
            if (second < 0 || !int.TryParse(element.AsSpan(first + 1, second - first - 1), out var c) || c < 0 || c >= classes)
            {
                throw new ProntoException(ErrorCode.Internal, $"model '{model}': the server's classification element '{element}' is not 'score:index:label'");
            }

            labels[c] = element[(second + 1)..];
        }

        return labels;
    }

    /// <summary>The model's inputs and outputs (OIP v2 model metadata); blocking, as loading a model in-process is.</summary>
    public ModelMetadataResponse Metadata(string model) => Call(() => client.ModelMetadata(new ModelMetadataRequest { Name = model }, headers));

    private static ModelInferRequest Request(string model, string input, ReadOnlyMemory<byte>[] items, ModelInferRequest.Types.InferRequestedOutputTensor output)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "BYTES", Shape = { items.Length }, Contents = new InferTensorContents() };
        foreach (var item in items)
        {
            tensor.Contents.BytesContents.Add(ByteString.CopyFrom(item.Span));
        }

        return new ModelInferRequest { ModelName = model, Inputs = { tensor }, Outputs = { output } };
    }

    private async Task<ModelInferResponse> InferAsync(ModelInferRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await client.ModelInferAsync(request, headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (Code(e.StatusCode) is { } code)
        {
            throw new ProntoException(code, e.Status.Detail, e);
        }
    }

    private static T Call<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (RpcException e) when (Code(e.StatusCode) is { } code)
        {
            throw new ProntoException(code, e.Status.Detail, e);
        }
    }

    private static (int Index, ModelInferResponse.Types.InferOutputTensor Tensor) Output(ModelInferResponse response, string name, string datatype)
    {
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            if (response.Outputs[i].Name == name)
            {
                return response.Outputs[i].Datatype == datatype ? (i, response.Outputs[i])
                    : throw new ProntoException(ErrorCode.Internal, $"model '{response.ModelName}': output '{name}' is {response.Outputs[i].Datatype}, not {datatype}");
            }
        }

        throw new ProntoException(ErrorCode.Internal, $"model '{response.ModelName}' answered without output '{name}'");
    }

    /// <summary>OIP v2's raw BYTES layout: each element a 4-byte little-endian length, then its bytes.</summary>
    private static List<string> RawStrings(ReadOnlyMemory<byte> raw)
    {
        var result = new List<string>();
        var span = raw.Span;
        while (span.Length >= 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(span);
            result.Add(Encoding.UTF8.GetString(span.Slice(4, length)));
            span = span[(4 + length)..];
        }

        return result;
    }

    /// <summary>The <see cref="ErrorCode"/> of a gRPC status the server maps from one (GrpcErrors); null for the rest (auth, transport).</summary>
    private static ErrorCode? Code(StatusCode status) => status switch
    {
        StatusCode.InvalidArgument => ErrorCode.InvalidArgument,
        StatusCode.NotFound => ErrorCode.NotFound,
        StatusCode.Unavailable => ErrorCode.Unavailable,
        StatusCode.Unimplemented => ErrorCode.Unsupported,
        StatusCode.FailedPrecondition => ErrorCode.Conflict,
        _ => null,
    };
}
