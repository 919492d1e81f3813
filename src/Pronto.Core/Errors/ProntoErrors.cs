using System.Diagnostics.CodeAnalysis;

namespace Pronto.Core.Errors;

/// <summary>Cold throw helpers, kept out of the callers' hot paths so those stay small and inlinable.</summary>
public static class ProntoErrors
{
    [DoesNotReturn]
    public static void InvalidArgument(string message) => throw new ProntoException(ErrorCode.InvalidArgument, message);

    [DoesNotReturn]
    public static void NotFound(string message) => throw new ProntoException(ErrorCode.NotFound, message);

    [DoesNotReturn]
    public static void Unavailable(string message) => throw new ProntoException(ErrorCode.Unavailable, message);

    [DoesNotReturn]
    public static void Unsupported(string message) => throw new ProntoException(ErrorCode.Unsupported, message);

    [DoesNotReturn]
    public static void Conflict(string message) => throw new ProntoException(ErrorCode.Conflict, message);

    [DoesNotReturn]
    public static void Internal(string message, Exception? inner = null) => throw new ProntoException(ErrorCode.Internal, message, inner);

    [DoesNotReturn]
    public static T InvalidArgument<T>(string message) => throw new ProntoException(ErrorCode.InvalidArgument, message);

    [DoesNotReturn]
    public static T Unsupported<T>(string message) => throw new ProntoException(ErrorCode.Unsupported, message);
}
