"""Call transcription: decode → VAD → who speaks → Whisper → Simplified, punctuated, corrected text.

Modules are named by concept (as faster-whisper's are): ``audio`` decodes, ``vad`` finds speech,
``speakers`` separates and names the two parties, ``model`` resolves and loads Whisper,
``vocabulary`` builds domain hotwords and corrects near-miss terms, ``text`` cleans Whisper's
output, and ``transcribe`` runs them in order. Nothing heavy loads at import.
"""
