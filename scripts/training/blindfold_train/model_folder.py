"""Writing a model folder so that no reader ever sees it half-written, as
scripts/training/model-folder.ts does: the run fills a hidden sibling `.NAME.partial-PID`, which
the server's loader skips, and renames it to NAME only once everything is in it. An existing
folder is replaced at that moment (what it holds and the new one does not, such as samples/ or
accuracy.json, is copied over first). A run that dies leaves only its hidden folder behind,
which the next run for the same folder removes."""
import os
import re
import shutil


def partial_folder(target):
    """The hidden folder a run writing `target` fills before renaming it into place."""
    target = os.path.normpath(os.path.abspath(target))
    return os.path.join(os.path.dirname(target), f'.{os.path.basename(target)}.partial-{os.getpid()}')


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True
    except OSError:
        return False


def remove_stale_partials(target):
    """Removes the partial folders of `target` whose writers are gone."""
    target = os.path.normpath(os.path.abspath(target))
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        return
    pattern = re.compile(re.escape(f'.{os.path.basename(target)}.partial-') + r'(\d+)$')
    for name in os.listdir(parent):
        m = pattern.match(name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def start(target):
    """A fresh, empty partial folder for `target`; returns its path."""
    target = os.path.normpath(os.path.abspath(target))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    remove_stale_partials(target)
    partial = partial_folder(target)
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    return partial


def publish(partial, target):
    """Renames the finished `partial` to `target`, replacing what is there."""
    target = os.path.normpath(os.path.abspath(target))
    if os.path.exists(target):
        for entry in os.listdir(target):
            src, dst = os.path.join(target, entry), os.path.join(partial, entry)
            if os.path.exists(dst):
                continue
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)
        old = os.path.join(os.path.dirname(target), f'.{os.path.basename(target)}.old-{os.getpid()}')
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
        os.rename(partial, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(partial, target)


def abandon(partial):
    """Removes the partial folder of a run that failed."""
    shutil.rmtree(partial, ignore_errors=True)
