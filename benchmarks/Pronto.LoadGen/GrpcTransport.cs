using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Pronto.Server.Grpc.Protocol;
using DataType = Pronto.Core.Tensors.DataType;

namespace Pronto.LoadGen;

/// <summary>
/// gRPC <c>inference.GRPCInferenceService/ModelInfer</c> over cleartext HTTP/2, as Triton's clients send it: every
/// input as one <c>raw_input_contents</c> entry (fixed-size elements little-endian, BYTES as a 4-byte little-endian
/// length then the bytes, per element). A status other than OK is an error; outputs come back in
/// <c>raw_output_contents</c>.
/// </summary>
public sealed class GrpcTransport : IInferenceTransport
{
    private readonly GrpcChannel _channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;
    private readonly ModelInferRequest _request;

    /// <param name="grpcUrl">The server's gRPC address, e.g. <c>http://127.0.0.1:8001</c>.</param>
    /// <param name="request">The request to send, encoded once here with its id, parameters and requested outputs.</param>
    public GrpcTransport(Uri grpcUrl, InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(grpcUrl);
        _request = Encode(request);
        _channel = GrpcChannel.ForAddress(grpcUrl, new GrpcChannelOptions
        {
            // One HTTP/2 connection carries 100 streams at Kestrel's default; an open loop may hold more requests.
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            MaxReceiveMessageSize = null,
        });
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public string Name => "grpc";

    public async Task<InferenceReply> SendAsync(bool decode, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _client.ModelInferAsync(_request, cancellationToken: cancellationToken).ConfigureAwait(false);
            return decode ? InferenceReply.Decoded(Decode(response)) : InferenceReply.Success;
        }
        catch (RpcException e)
        {
            return InferenceReply.Failed($"{e.StatusCode}: {e.Status.Detail}");
        }
        catch (Core.Errors.ProntoException e)
        {
            return InferenceReply.Failed($"undecodable response: {e.Message}");
        }
    }

    public void Dispose() => _channel.Dispose();

    private static ModelInferRequest Encode(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = new ModelInferRequest { ModelName = request.ModelName, ModelVersion = request.ModelVersion ?? "", Id = request.Id ?? "" };
        foreach (var (key, value) in request.Parameters)
        {
            message.Parameters[key] = Parameter(value);
        }

        foreach (var input in request.Inputs)
        {
            var tensor = input.Tensor;
            var header = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = tensor.DataType.ToProtocolName() };
            header.Shape.AddRange(tensor.Shape);
            message.Inputs.Add(header);
            message.RawInputContents.Add(tensor.DataType == DataType.Bytes
                ? ByteString.CopyFrom(BinaryTensors.ToArray(tensor))
                : ByteString.CopyFrom(tensor.Data.Span));
        }

        foreach (var output in request.Outputs)
        {
            var requested = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output.Name };
            if (output.Classification > 0)
            {
                requested.Parameters["classification"] = new InferParameter { Int64Param = output.Classification };
            }

            message.Outputs.Add(requested);
        }

        return message;
    }

    /// <summary>Request parameters as the JSON reader leaves them: bool, long, double or string.</summary>
    private static InferParameter Parameter(object value) => value switch
    {
        bool b => new InferParameter { BoolParam = b },
        long l => new InferParameter { Int64Param = l },
        double d => new InferParameter { DoubleParam = d },
        _ => new InferParameter { StringParam = value.ToString() },
    };

    private static NamedTensor[] Decode(ModelInferResponse response)
    {
        var outputs = new NamedTensor[response.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = response.Outputs[i];
            var data = i < response.RawOutputContents.Count ? response.RawOutputContents[i].Memory : ReadOnlyMemory<byte>.Empty;
            outputs[i] = new NamedTensor(output.Name, RawTensors.Read(output.Name, output.Datatype, [.. output.Shape], data));
        }

        return outputs;
    }
}
