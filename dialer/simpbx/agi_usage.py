"""Usage texts of the AGI commands the simulator knows, byte for byte as a real Asterisk
22.10.1 (with its XML documentation installed) sends them in a `520-` reply. Captured
from a private Asterisk by sending each command with wrong arguments; STREAM FILE is also
in fastagi-session.txt. Without the documentation Asterisk sends
`520 Invalid command syntax.  Proper usage not available.` instead."""

from __future__ import annotations

USAGE: dict[str, str] = {
    "get variable": (
        "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is "
        "not set. Returns <literal>1</literal> if "
        "<replaceable>variablename</replaceable> is set and returns the variable in "
        "parentheses.\n"
        "Example return code: 200 result=1 (testvariable)"
    ),
    "get full variable": (
        "Evaluates the given <replaceable>expression</replaceable> against the "
        "channel specified by <replaceable>channelname</replaceable>, or the current "
        "channel if <replaceable>channelname</replaceable> is not provided.\n"
        "Unlike GET VARIABLE, the <replaceable>expression</replaceable> is processed "
        "in a manner similar to dialplan evaluation, allowing complex and built-in "
        "variables to be accessed, e.g. <literal>The time is ${EPOCH}</literal>\n"
        "Returns <literal>0</literal> if no channel matching "
        "<replaceable>channelname</replaceable> exists, <literal>1</literal> "
        "otherwise.\n"
        "Example return code: 200 result=1 (The time is 1578493800)"
    ),
    "set variable": ("Sets a variable to the current channel."),
    "stream file": (
        "Send the given file, allowing playback to be interrupted by the given "
        "digits, if any. Returns <literal>0</literal> if playback completes without "
        "a digit being pressed, or the ASCII numerical value of the digit if one was "
        "pressed, or <literal>-1</literal> on error or if the channel was "
        "disconnected. If musiconhold is playing before calling stream file it will "
        "be automatically stopped and will not be restarted after completion.\n"
        "It sets the following channel variables upon completion:\n"
        "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as "
        "a text string.\n"
        "    <value>SUCCESS</value>\n"
        "    <value>FAILED</value>"
    ),
    "get option": ("Behaves similar to STREAM FILE but used with a timeout option."),
    "say number": (
        "Say a given number, returning early if any of the given DTMF digits are "
        "received on the channel.  Returns <literal>0</literal> if playback "
        "completes without a digit being pressed, or the ASCII numerical value of "
        "the digit if one was pressed or <literal>-1</literal> on error/hangup."
    ),
    "say digits": (
        "Say a given digit string, returning early if any of the given DTMF digits "
        "are received on the channel. Returns <literal>0</literal> if playback "
        "completes without a digit being pressed, or the ASCII numerical value of "
        "the digit if one was pressed or <literal>-1</literal> on error/hangup."
    ),
    "say alpha": (
        "Say a given character string, returning early if any of the given DTMF "
        "digits are received on the channel. Returns <literal>0</literal> if "
        "playback completes without a digit being pressed, or the ASCII numerical "
        "value of the digit if one was pressed or <literal>-1</literal> on "
        "error/hangup."
    ),
    "exec": (
        "Executes <replaceable>application</replaceable> with given "
        "<replaceable>options</replaceable>.\n"
        "Returns whatever the <replaceable>application</replaceable> returns, or "
        "<literal>-2</literal> on failure to find "
        "<replaceable>application</replaceable>.\n"
        "<note>NOTE:</note> exec does not evaluate dialplan functions and variables "
        "unless it is explicitly enabled by setting the "
        "<variable>AGIEXECFULL</variable> variable to <literal>yes</literal>."
    ),
    "get data": (
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        "Returns the digits received from the channel at the other end."
    ),
    "wait for digit": (
        "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to "
        "receive a DTMF digit. Returns <literal>-1</literal> on channel failure, "
        "<literal>0</literal> if no digit is received in the timeout, or the "
        "numerical value of the ascii of the digit if one is received. Use "
        "<literal>-1</literal> for the <replaceable>timeout</replaceable> value if "
        "you desire the call to block indefinitely."
    ),
    "record file": (
        "Record to a file until a given dtmf digit in the sequence is received. "
        "Returns <literal>-1</literal> on hangup or error.  The format will specify "
        "what kind of file will be recorded. The <replaceable>timeout</replaceable> "
        "is the maximum record time in milliseconds, or <literal>-1</literal> for no "
        "<replaceable>timeout</replaceable>. <replaceable>offset "
        "samples</replaceable> is optional, and, if provided, will seek to the "
        "offset without exceeding the end of the file. "
        "<replaceable>beep</replaceable> can take any value, and causes Asterisk to "
        "play a beep to the channel that is about to be recorded. "
        "<replaceable>silence</replaceable> is the number of seconds of silence "
        "allowed before the function returns despite the lack of dtmf digits or "
        "reaching <replaceable>timeout</replaceable>. "
        "<replaceable>silence</replaceable> value must be preceded by "
        "<literal>s=</literal> and is also optional."
    ),
    "hangup": (
        "Hangs up the specified channel. If no channel name is given, hangs up the current channel"
    ),
    "verbose": (
        "Sends <replaceable>message</replaceable> to the console via verbose message "
        "system. <replaceable>level</replaceable> is the verbose level (1-4). Always "
        "returns <literal>1</literal>"
    ),
    "channel status": (
        "Returns the status of the specified <replaceable>channelname</replaceable>. "
        "If no channel name is given then returns the status of the current channel.\n"
        "Return values:\n"
        "    <enum>0</enum> - Channel is down and available.\n"
        "    <enum>1</enum> - Channel is down, but reserved.\n"
        "    <enum>2</enum> - Channel is off hook.\n"
        "    <enum>3</enum> - Digits (or equivalent) have been dialed.\n"
        "    <enum>4</enum> - Line is ringing.\n"
        "    <enum>5</enum> - Remote end is ringing.\n"
        "    <enum>6</enum> - Line is up.\n"
        "    <enum>7</enum> - Line is busy."
    ),
}
