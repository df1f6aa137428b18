import { useEffect, useRef, useState, type DragEvent, type ReactNode } from 'react'
import { ACCEPTED_TYPES } from '../../image/limits'

/**
 * Drop zone, keyboard-operable file picker and clipboard paste. Every file
 * is handed on as is; anything not an image is refused later with a message.
 */
export function InputPanel({ onFiles, hint, children }: { onFiles(files: File[]): void; hint: string; children?: ReactNode }) {
  const input = useRef<HTMLInputElement>(null)
  const [over, setOver] = useState(false)

  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const files = Array.from(e.clipboardData?.files ?? [])
      if (files.length === 0) return
      e.preventDefault()
      onFiles(files)
    }
    document.addEventListener('paste', onPaste)
    return () => document.removeEventListener('paste', onPaste)
  }, [onFiles])

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    const files = Array.from(e.dataTransfer.files)
    if (files.length) onFiles(files)
  }

  return (
    <section className="panel" aria-labelledby="input-title">
      <h2 id="input-title" className="panel-title">Images</h2>
      <div
        className={over ? 'dropzone over' : 'dropzone'}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p className="dropzone-text">Drop images here, paste one, or</p>
        <label className="button" htmlFor="file-input">
          Choose images…
        </label>
        <input
          ref={input}
          id="file-input"
          className="visually-hidden-input"
          type="file"
          multiple
          accept={ACCEPTED_TYPES.join(',') + ',.png,.jpg,.jpeg,.webp,.gif,.bmp'}
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? [])
            if (files.length) onFiles(files)
            e.currentTarget.value = ''
          }}
        />
        <p className="hint">PNG, JPEG, WebP, GIF or BMP, up to 20 MB. {hint}</p>
      </div>
      {children}
    </section>
  )
}
