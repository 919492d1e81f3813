namespace Pronto.Core.Errors;

/// <summary>An error with its <see cref="ErrorCode"/> and a message meant for the user who caused it.</summary>
public sealed class ProntoException : Exception
{
    public ProntoException(ErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public ProntoException()
        : this(ErrorCode.Internal, "internal error")
    {
    }

    public ProntoException(string message)
        : this(ErrorCode.Internal, message)
    {
    }

    public ProntoException(string message, Exception innerException)
        : this(ErrorCode.Internal, message, innerException)
    {
    }

    public ErrorCode Code { get; }

    /// <summary>Seconds after which a retry may succeed (an overloaded queue): HTTP's Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }
}
