using Google.Protobuf.Collections;
using Pronto.Core.Errors;
using Pronto.Server.Grpc.Protocol;

namespace Pronto.Server.Grpc;

/// <summary><see cref="InferParameter"/> to and from the core's parameter values (bool, long, double, string).</summary>
internal static class GrpcParameters
{
    /// <summary>The request's parameters; uint64 values become long when they fit (the core's integer type), else stay ulong.</summary>
    public static Dictionary<string, object> Read(MapField<string, InferParameter> parameters, string owner)
    {
        var values = new Dictionary<string, object>(parameters.Count, StringComparer.Ordinal);
        foreach (var (key, parameter) in parameters)
        {
            values[key] = Value(parameter, key, owner);
        }

        return values;
    }

    public static object Value(InferParameter parameter, string key, string owner) => parameter.ParameterChoiceCase switch
    {
        InferParameter.ParameterChoiceOneofCase.BoolParam => parameter.BoolParam,
        InferParameter.ParameterChoiceOneofCase.Int64Param => parameter.Int64Param,
        InferParameter.ParameterChoiceOneofCase.StringParam => parameter.StringParam,
        InferParameter.ParameterChoiceOneofCase.DoubleParam => parameter.DoubleParam,
        InferParameter.ParameterChoiceOneofCase.Uint64Param => parameter.Uint64Param <= long.MaxValue ? (long)parameter.Uint64Param : parameter.Uint64Param,
        _ => ProntoErrors.InvalidArgument<object>($"{owner}: parameter '{key}' has no value"),
    };

    /// <summary>A core parameter value as the protocol's oneof; other types travel as their invariant text.</summary>
    public static InferParameter Write(object value) => value switch
    {
        bool b => new InferParameter { BoolParam = b },
        long l => new InferParameter { Int64Param = l },
        int i => new InferParameter { Int64Param = i },
        ulong u => new InferParameter { Uint64Param = u },
        double d => new InferParameter { DoubleParam = d },
        float f => new InferParameter { DoubleParam = f },
        string s => new InferParameter { StringParam = s },
        _ => new InferParameter { StringParam = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "" },
    };
}
