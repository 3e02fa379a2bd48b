/* Debian's wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std calls for random
 * bytes (HashMap keys), so no Rust program starts under it. This stand-in, put beside the
 * .exe, forwards to RtlGenRandom (advapi32's SystemFunction036), which wine has. Windows
 * itself has the real DLL; this is for running the tests under wine only. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG part = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
		if (!SystemFunction036(data, part))
			return FALSE;
		data += part;
		length -= part;
	}
	return TRUE;
}
