using Pronto.Core.Errors;

namespace Pronto.Cli;

/// <summary>The CLI's exit codes: the error taxonomy mapped once.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Internal = 1;
    public const int InvalidArgument = 2;
    public const int NotFound = 3;
    public const int Unavailable = 4;
    public const int Unsupported = 5;

    /// <summary><c>pronto batch</c> stopped because failed rows exceeded --max-error-rate.</summary>
    public const int TooManyErrors = 6;

    /// <summary>The request conflicts with the current state (a name taken, a run in progress).</summary>
    public const int Conflict = 7;

    public static int From(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => InvalidArgument,
        ErrorCode.NotFound => NotFound,
        ErrorCode.Unavailable => Unavailable,
        ErrorCode.Unsupported => Unsupported,
        ErrorCode.Conflict => Conflict,
        _ => Internal,
    };
}
